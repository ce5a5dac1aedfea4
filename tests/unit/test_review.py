"""The reviewer: deterministic checks, zero model calls, a verdict that never blocks (SPEC §6)."""

from __future__ import annotations

from typing import Any

import pytest

from nodes.email.review_draft import review_draft, review_email
from nodes.email.text_rules import find_markers
from schemas.orchestrator import OrchestratorState

CLEAN_SUBJECT = "Quick idea for Acme"
CLEAN_BODY = (
    "Hi Lucas,\n\nI read that Acme opened a depot in Lyon.\n\n"
    "Worth 20 minutes next week?\n\nBest,\nSam\n\n"
    "If you'd rather not hear from me, reply \"unsubscribe\" and I won't email you again."
)
MARKERS = ["{{first_name}}", "{{ company }}", "{company}", "[First Name]", "[Company Name]"]


def test_clean_draft_passes_with_no_notes() -> None:
    verdict = review_email(CLEAN_SUBJECT, CLEAN_BODY)
    assert verdict.passed
    assert verdict.notes == []


@pytest.mark.parametrize("marker", MARKERS)
def test_marker_in_subject_is_flagged_by_name(marker: str) -> None:
    verdict = review_email(f"Quick idea for {marker}", CLEAN_BODY)
    assert not verdict.passed
    assert verdict.notes == [f"template marker {marker!r} in subject"]


@pytest.mark.parametrize("marker", MARKERS)
def test_marker_in_body_is_flagged_by_name(marker: str) -> None:
    verdict = review_email(CLEAN_SUBJECT, CLEAN_BODY.replace("Lucas", marker))
    assert not verdict.passed
    assert verdict.notes == [f"template marker {marker!r} in body"]


@pytest.mark.parametrize("marker", MARKERS)
def test_find_markers_returns_the_marker_text_once(marker: str) -> None:
    assert find_markers(f"Hello {marker}, welcome.") == [marker]


def test_find_markers_lists_several_in_order_of_appearance() -> None:
    text = "Dear [First Name], about {{ company }} and {offer}."
    assert find_markers(text) == ["[First Name]", "{{ company }}", "{offer}"]


@pytest.mark.parametrize(
    "text",
    [
        "Plain text with no markers.",
        "A list [1] with a number.",
        "Braces across lines {\n} do not count.",
        "An emoji :) and a dash - fine.",
        "",
    ],
)
def test_find_markers_ignores_ordinary_text(text: str) -> None:
    assert find_markers(text) == []


@pytest.mark.parametrize(
    ("subject", "body", "note"),
    [
        ("", CLEAN_BODY, "empty subject"),
        ("   ", CLEAN_BODY, "empty subject"),
        (None, CLEAN_BODY, "empty subject"),
        (CLEAN_SUBJECT, "", "empty body"),
        (CLEAN_SUBJECT, " \n\t ", "empty body"),
        (CLEAN_SUBJECT, None, "empty body"),
    ],
    ids=["empty-subject", "blank-subject", "none-subject", "empty-body", "blank-body", "none-body"],
)
def test_empty_parts_fail(subject: str | None, body: str | None, note: str) -> None:
    verdict = review_email(subject, body)
    assert not verdict.passed
    assert verdict.notes == [note]


def test_empty_body_is_not_also_reported_as_missing_unsubscribe() -> None:
    assert review_email("", "").notes == ["empty subject", "empty body"]


def test_missing_unsubscribe_line_fails() -> None:
    body = "Hi Lucas,\n\nWorth 20 minutes next week?\n\nBest,\nSam"
    verdict = review_email(CLEAN_SUBJECT, body)
    assert not verdict.passed
    assert verdict.notes == ["missing unsubscribe line"]


@pytest.mark.parametrize(
    "line",
    [
        "Reply UNSUBSCRIBE to stop these emails.",
        "To opt out, just reply.",
        "Opt-out: reply stop.",
        "You can optout any time.",
    ],
)
def test_unsubscribe_or_opt_out_line_counts(line: str) -> None:
    body = f"Hi Lucas,\n\nWorth 20 minutes?\n\n{line}"
    assert review_email(CLEAN_SUBJECT, body).passed


def test_every_problem_is_reported_together() -> None:
    verdict = review_email("Hi {{first_name}}", "Dear [First Name], no footer here.")
    assert verdict.notes == [
        "template marker '{{first_name}}' in subject",
        "template marker '[First Name]' in body",
        "missing unsubscribe line",
    ]


def _state(draft: dict[str, str] | None) -> OrchestratorState:
    state: dict[str, Any] = {"contact_id": "c_1", "draft": draft}
    return state  # type: ignore[return-value]


def _assert_review_envelope(update: dict[str, Any]) -> dict[str, Any]:
    envelope: dict[str, Any] = update["provenance"]["review"]
    assert set(envelope) == {"confidence", "reason", "source", "evidence"}
    assert envelope["source"] == "deterministic"
    assert envelope["confidence"] == 1.0
    assert update["path"] == ["review_draft"]
    return envelope


def test_review_draft_node_stamps_a_passing_verdict() -> None:
    update = review_draft(_state({"subject": CLEAN_SUBJECT, "body": CLEAN_BODY}))
    assert update["graph_meta"] == {"review_passed": True, "review_notes": []}
    envelope = _assert_review_envelope(update)
    assert "passed" in envelope["reason"]
    assert envelope["evidence"]


def test_review_draft_node_stamps_a_failing_verdict_with_its_notes() -> None:
    update = review_draft(_state({"subject": "Hi {{first_name}}", "body": CLEAN_BODY}))
    notes = ["template marker '{{first_name}}' in subject"]
    assert update["graph_meta"] == {"review_passed": False, "review_notes": notes}
    envelope = _assert_review_envelope(update)
    assert envelope["evidence"] == notes
    assert "{{first_name}}" in envelope["reason"]


def test_review_draft_node_without_a_draft_fails_without_raising() -> None:
    update = review_draft(_state(None))
    assert update["graph_meta"]["review_passed"] is False
    assert update["graph_meta"]["review_notes"] == ["empty subject", "empty body"]
    _assert_review_envelope(update)


def test_review_draft_node_with_no_draft_key_fails_without_raising() -> None:
    state: Any = {"contact_id": "c_1"}
    update = review_draft(state)
    assert update["graph_meta"]["review_passed"] is False
