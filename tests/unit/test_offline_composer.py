"""The offline composer: deterministic, grounded, and never leaves a placeholder (SPEC §1, §6)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nodes.email.offline_composer import (
    LEAD_IN,
    TONES,
    UNSUBSCRIBE_LINE,
    ComposeRequest,
    call_to_action,
    compose_email,
    compose_reply,
    finish_body,
    person_case,
    tone_for,
)
from nodes.email.review_draft import review_email
from nodes.email.text_rules import find_markers
from schemas.values import reply_subject

BASE = ComposeRequest(
    first_name="Lucas",
    last_name="Moreau",
    title="Head of Sales",
    company="Acme Logistics",
    industry="Logistics",
    facts=["Acme Logistics opened a depot in Lyon.", "Acme Logistics hired 40 reps"],
    offer="a 20-minute walkthrough of our follow-up tooling",
)
MARKER_VALUES = ["[First Name]", "{{company}}", "{company}", "{{ first_name }}", "[Company Name]"]


def request(**changes: Any) -> ComposeRequest:
    return replace(BASE, **changes)


def finished(req: ComposeRequest, *, reply: bool = False) -> tuple[str, str]:
    subject, body = (compose_reply if reply else compose_email)(req)
    return subject, finish_body(body, tone=tone_for(req), sender_name="Sam", sender_company="Co")


@pytest.mark.parametrize("reply", [False, True], ids=["compose", "reply"])
@pytest.mark.parametrize("tone", [*TONES, None])
def test_same_request_gives_identical_output(tone: str | None, reply: bool) -> None:
    req = request(tone=tone, inbound_subject="Pricing question")
    assert finished(req, reply=reply) == finished(replace(req), reply=reply)


@pytest.mark.parametrize(
    ("tone", "greeting", "sign_off"),
    [
        ("warm", "Hi Lucas,", "Warmly,"),
        ("direct", "Lucas,", "Best,"),
        ("formal", "Dear Lucas Moreau,", "Kind regards,"),
        ("casual", "Hey Lucas,", "Cheers,"),
        ("consultative", "Hello Lucas,", "Best regards,"),
        (None, "Hi Lucas,", "Best,"),
    ],
)
def test_greeting_names_the_contact_and_sign_off_follows_tone(
    tone: str | None, greeting: str, sign_off: str
) -> None:
    _, body = finished(request(tone=tone))
    lines = body.splitlines()
    assert lines[0] == greeting
    assert lines[-5:-2] == [sign_off, "Sam", "Co"]


def test_each_tone_has_its_own_greeting_or_sign_off() -> None:
    shapes = set()
    for tone in TONES:
        lines = finished(request(tone=tone))[1].splitlines()
        shapes.add((lines[0], lines[-5]))
    assert len(shapes) == len(TONES)


def test_unknown_tone_is_treated_as_no_tone() -> None:
    assert finished(request(tone="sarcastic")) == finished(request(tone=None))


def test_feedback_naming_a_tone_overrides_the_plan() -> None:
    req = request(tone="warm", feedback="Please make it more formal.")
    assert tone_for(req) == "formal"
    assert finished(req)[1].startswith("Dear Lucas Moreau,")


def test_without_a_usable_first_name_the_greeting_is_generic() -> None:
    _, body = finished(request(first_name=None, tone="formal"))
    assert body.startswith("Hello,\n")


def test_first_fact_is_quoted_verbatim_without_its_period() -> None:
    _, body = finished(request(tone="direct"))
    assert "I saw that Acme Logistics opened a depot in Lyon." in body
    assert "Lyon.." not in body
    assert "I also saw that Acme Logistics hired 40 reps." in body


def test_angle_appears_in_body_and_subject() -> None:
    subject, body = finished(request(angle="Cutting manual follow-up for depot teams"))
    assert "cutting manual follow-up for depot teams" in body
    assert subject == "Acme Logistics: Cutting manual follow-up for depot teams"


def test_long_angle_subject_is_clipped() -> None:
    subject, _ = finished(request(angle="word " * 40))
    assert len(subject) <= 78
    assert subject.endswith("\u2026")


def test_feedback_asking_for_shorter_drops_the_relevance_paragraph() -> None:
    _, long_body = finished(request())
    _, short_body = finished(request(feedback="too long, make it short"))
    assert len(short_body) < len(long_body)
    assert "probably weighing" not in short_body


@pytest.mark.parametrize(
    ("previous", "subject"),
    [
        ("Quick idea for Acme Logistics", "Re: Quick idea for Acme Logistics"),
        ("Re: Quick idea for Acme Logistics", "Re: Quick idea for Acme Logistics"),
        (None, "Following up for Acme Logistics"),
    ],
)
def test_follow_up_subject(previous: str | None, subject: str) -> None:
    got, body = finished(request(touch=2, previous_subject=previous))
    assert got == subject
    assert "Following up on my earlier note for Acme Logistics." in body


def test_first_touch_has_no_follow_up_opening() -> None:
    subject, body = finished(request(touch=1, previous_subject="Earlier"))
    assert subject == "Quick idea for Acme Logistics"
    assert "Following up" not in body


def test_reply_subject_answers_the_inbound_subject() -> None:
    subject, body = finished(request(inbound_subject="Pricing question"), reply=True)
    assert subject == "Re: Pricing question"
    assert "\u201cPricing question\u201d" in body
    assert "opened a depot in Lyon" in body


def test_reply_without_inbound_subject_has_a_subject() -> None:
    subject, _ = finished(request(inbound_subject=None), reply=True)
    assert subject == "Your note to us for Acme Logistics"


@pytest.mark.parametrize("reply", [False, True], ids=["compose", "reply"])
@pytest.mark.parametrize("tone", [*TONES, None])
def test_finished_body_ends_with_unsubscribe_line_and_passes_review(
    tone: str | None, reply: bool
) -> None:
    subject, body = finished(request(tone=tone, inbound_subject="Hello"), reply=reply)
    assert body.endswith(UNSUBSCRIBE_LINE)
    assert review_email(subject, body).passed


def test_finish_body_trims_trailing_space_before_the_signature() -> None:
    body = finish_body("Hello.\n\n  ", tone=None, sender_name="Sam", sender_company="Co")
    assert body == f"Hello.\n\nBest,\nSam\nCo\n\n{UNSUBSCRIBE_LINE}"


@pytest.mark.parametrize("reply", [False, True], ids=["compose", "reply"])
@pytest.mark.parametrize("marker", MARKER_VALUES)
def test_crm_markers_never_reach_the_output(marker: str, reply: bool) -> None:
    req = request(
        first_name=marker,
        last_name=marker,
        title=marker,
        company=marker,
        industry=marker,
        facts=[f"{marker} is growing", "{{company}} is growing", "Acme hired 40 reps"],
        angle=marker,
        previous_subject=marker,
        inbound_subject=marker,
        tone="formal",
    )
    for touch in (1, 2):
        subject, body = finished(replace(req, touch=touch), reply=reply)
        assert find_markers(subject) == [] and find_markers(body) == []
        assert review_email(subject, body).passed
        assert "Acme hired 40 reps" in body
        assert body.startswith("Hello,")


# Fields on their own are cleaned; these show markers the composer builds by joining
# fields (or an unchecked offer). See the report: they are product bugs.
CROSS_FIELD = [
    pytest.param({"offer": "{}"}, id="offer-braces"),
    pytest.param({"offer": "{{offer}}"}, id="offer-jinja"),
    pytest.param({"first_name": "[Jo", "last_name": "Smith]", "tone": "formal"}, id="greeting"),
    pytest.param({"title": "{x", "company": "y}"}, id="title-company"),
    pytest.param({"title": "[Head", "company": "Acme]"}, id="title-company-bracket"),
    pytest.param({"company": "{a", "angle": "b}"}, id="subject-company-angle"),
]


@pytest.mark.parametrize("changes", CROSS_FIELD)
def test_markers_are_not_assembled_from_fragments(changes: dict[str, Any]) -> None:
    subject, body = finished(request(**changes))
    assert review_email(subject, body).passed


DELIMITERS = "{}[]"
SAFE_TEXT = st.text().filter(lambda s: not any(c in s for c in DELIMITERS))
FIELD = st.one_of(SAFE_TEXT, st.sampled_from(MARKER_VALUES), st.none())
TONE = st.sampled_from([*TONES, None])
TOUCH = st.integers(min_value=1, max_value=6)


@settings(max_examples=200, deadline=None)
@given(
    first_name=FIELD,
    last_name=FIELD,
    title=FIELD,
    company=FIELD,
    industry=FIELD,
    facts=st.lists(st.one_of(SAFE_TEXT, st.sampled_from(MARKER_VALUES)), max_size=4),
    angle=FIELD,
    offer=SAFE_TEXT,
    tone=TONE,
    touch=TOUCH,
)
def test_whole_markers_in_crm_fields_never_reach_a_finished_draft(**fields: Any) -> None:
    req = ComposeRequest(**fields)
    subject, body = finished(req)
    assert review_email(subject, body).notes == []


# The spec'd property: whatever the CRM holds, the finished draft passes review. The explicit
# example is the counterexample Hypothesis once found (an offer of "{}").
@settings(max_examples=200, deadline=None)
@given(
    first_name=st.text(),
    last_name=st.text(),
    title=st.text(),
    company=st.text(),
    industry=st.text(),
    facts=st.lists(st.text(), max_size=4),
    angle=st.text(),
    offer=st.text(),
    tone=TONE,
    touch=TOUCH,
)
@example(
    first_name="",
    last_name="",
    title="",
    company="",
    industry="",
    facts=[],
    angle="",
    offer="{}",
    tone="warm",
    touch=1,
)
def test_any_crm_text_gives_a_draft_that_passes_review(**fields: Any) -> None:
    req = ComposeRequest(**fields)
    subject, body = finished(req)
    assert review_email(subject, body).notes == []


@pytest.mark.parametrize("reply", [False, True], ids=["compose", "reply"])
@pytest.mark.parametrize("touch", [1, 2])
def test_a_very_long_company_or_subject_still_fits_the_reviewers_limit(
    touch: int, reply: bool
) -> None:
    long_name = "Northwind " + "Logistics and Supply Chain Holdings " * 8
    req = request(company=long_name, touch=touch, inbound_subject=long_name)

    subject, body = finished(req, reply=reply)

    assert len(subject) <= 150
    assert review_email(subject, body).passed, review_email(subject, body).notes


@pytest.mark.parametrize(
    ("raw", "written"),
    [("MARGARET", "Margaret"), ("anne-marie", "Anne-Marie"), ("O'BRIEN", "O'Brien"),
     ("McKay", "McKay"), ("da Silva", "da Silva")],
)  # fmt: skip
def test_names_are_cased_as_people_write_them(raw: str, written: str) -> None:
    assert person_case(raw) == written


@pytest.mark.parametrize("tone", [None, *TONES])
@pytest.mark.parametrize("minutes", [15, 30])
def test_the_call_to_action_never_asks_for_more_time_than_the_offer(
    tone: str | None, minutes: int
) -> None:
    ask = call_to_action(tone, f"a {minutes}-minute walkthrough")
    asked = {int(n) for n in re.findall(r"\b(\d+)[\s-]*minute", ask)}
    assert asked <= {minutes}, ask


def test_a_reply_subject_never_doubles_its_prefix() -> None:
    assert reply_subject("RE: Re: Pricing question") == "Re: Pricing question"


def test_no_tone_congratulates_on_whatever_the_news_is() -> None:
    for tone in (None, *TONES):
        assert "congratulat" not in LEAD_IN[tone].lower()
