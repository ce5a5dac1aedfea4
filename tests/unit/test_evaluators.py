"""Each evaluator against a hand-written passing and failing example, so none passes silently."""

from __future__ import annotations

from typing import Any

import pytest

from evals import evaluators as ev

UNSUB = "If you'd rather not hear from me, reply \"unsubscribe\" and I won't email you again."
INPUTS: dict[str, Any] = {
    "contact": {"first_name": "Ana", "last_name": "Lopez", "title": "VP Sales"},
    "company": {
        "domain": "northwind.example",
        "name": "Northwind Logistics",
        "industry": "Logistics",
    },
    "facts": [
        {"fact": "Northwind Logistics opened a warehouse in Lyon in January 2026"},
        {"fact": "Northwind Logistics is hiring 14 dispatch coordinators"},
    ],
    "history": [],
    "plan": {"angle": "Cutting manual follow-up work for sales teams", "tone": "formal"},
    "offer": "a 20-minute walkthrough",
}
REF: dict[str, Any] = {
    "action": "compose",
    "facts_allowed": [f["fact"] for f in INPUTS["facts"]],
    "must_not_claim": ["acquired", "guarantee"],
    "length": {"min_words": 20, "max_words": 120},
    "personalisation": {"first_name": "Ana", "company": "Northwind Logistics", "uses_fact": True},
    "call_to_action": True,
    "unsubscribe_line": True,
}
GOOD_BODY = (
    "Dear Ana Lopez,\n\nI recently read that Northwind Logistics opened a warehouse in Lyon "
    "in January 2026.\n\nThe reason I'm writing: cutting manual follow-up work for sales "
    "teams.\n\nWe offer a 20-minute walkthrough. Would you be available for a brief call next "
    f"Tuesday?\n\nKind regards,\nSam Rivera\nCoachgraph\n\n{UNSUB}"
)


def outputs(
    body: str = GOOD_BODY, subject: str = "Northwind Logistics: sales follow-up", **kw: Any
) -> dict[str, Any]:
    plan = {"angle": INPUTS["plan"]["angle"], "tone": "formal"} | kw.pop("plan", {})
    return {
        "action": "compose",
        "subject": subject,
        "body": body,
        "plan": plan,
        "sender_name": "Sam Rivera",
        "sender_company": "Coachgraph",
    } | kw


def score(evaluator: ev.Evaluator, out: dict[str, Any], ref: dict[str, Any] = REF) -> ev.Score:
    return evaluator(INPUTS, out, ref)


@pytest.mark.parametrize("evaluator", ev.FINAL_RESPONSE)
def test_the_good_email_passes_every_final_response_check(evaluator: ev.Evaluator) -> None:
    result = score(evaluator, outputs())
    assert result["score"] == 1.0, result


@pytest.mark.parametrize("evaluator", ev.FINAL_RESPONSE)
def test_a_blocked_contact_fails_every_final_response_check(evaluator: ev.Evaluator) -> None:
    result = score(evaluator, {"action": "blocked", "blocked_reason": "bounced"})
    assert result["score"] == 0.0
    assert "bounced" in result["comment"]


FAILING = [
    (ev.check_action, outputs(action="reply"), "action 'reply'"),
    (
        ev.no_template_markers,
        outputs(body=GOOD_BODY.replace("Ana Lopez", "{{first_name}}")),
        "{{first_name}}",
    ),
    (ev.no_template_markers, outputs(subject="Idea for [Company Name]"), "[Company Name]"),
    (ev.grounded, outputs(body=GOOD_BODY.replace("January 2026", "January 2025")), "number '2025'"),
    (ev.grounded, outputs(body=GOOD_BODY + "\nTeams at Acme and Globex love it."), "name 'Acme'"),
    (
        ev.grounded,
        outputs(body=GOOD_BODY.replace("opened", "was acquired and opened")),
        "claims 'acquired'",
    ),
    (ev.grounded, outputs(body=GOOD_BODY.replace("Lyon", "Lyon with 300 staff")), "number '300'"),
    (
        ev.length_band,
        outputs(body="Ana, a call? Reply unsubscribe to stop."),
        "words, expected 20–120",
    ),
    (ev.length_band, outputs(body=GOOD_BODY + " more" * 100), "expected 20–120"),
    (
        ev.personalised,
        outputs(body=GOOD_BODY.replace("Ana Lopez", "there")),
        "does not address 'Ana'",
    ),
    (
        ev.personalised,
        outputs(
            subject="Hello",
            body=GOOD_BODY.replace(
                "Northwind Logistics opened a warehouse in Lyon in January 2026",
                "your team is growing",
            ),
        ),
        "uses none of the allowed facts",
    ),
    (
        ev.call_to_action,
        outputs(
            body=GOOD_BODY.replace(
                "Would you be available for a brief call next Tuesday?", "Thanks."
            )
        ),
        "no question",
    ),
    (
        ev.call_to_action,
        outputs(
            body=GOOD_BODY.replace("brief call next Tuesday?", "brief call next Tuesday.")
            + "\nHow is the weather?"
        ),
        "no question",
    ),
    (ev.unsubscribe_line, outputs(body=GOOD_BODY.replace(UNSUB, "")), "no unsubscribe"),
    (
        ev.tone_honoured,
        outputs(body=GOOD_BODY.replace("Dear Ana Lopez,", "Hey Ana!")),
        "not formal",
    ),
    (
        ev.tone_honoured,
        outputs(plan={"tone": "casual"}),
        "'dear' is not casual",
    ),
    (ev.tone_honoured, outputs(body=GOOD_BODY + "\nAct now: last chance!"), "pressure phrase"),
    (
        ev.tone_honoured,
        outputs(plan={"tone": "direct"}, body=GOOD_BODY + " word" * 120),
        "longer than 160",
    ),
    (
        ev.tone_honoured,
        outputs(plan={"tone": "consultative"}, body=GOOD_BODY.replace("?", ".")),
        "asks a question",
    ),
    (
        ev.angle_honoured,
        outputs(
            subject="Hi",
            body=GOOD_BODY.replace("cutting manual follow-up work for sales teams", "our product"),
        ),
        "not reflected",
    ),
]


@pytest.mark.parametrize(
    ("evaluator", "out", "why"), FAILING, ids=lambda x: getattr(x, "__name__", None)
)
def test_each_evaluator_fails_a_hand_written_bad_email(
    evaluator: ev.Evaluator, out: dict[str, Any], why: str
) -> None:
    result = score(evaluator, out)
    assert result["score"] == 0.0, result
    assert why in result["comment"]


def test_durations_and_sentence_starts_are_not_invented_claims() -> None:
    text = "Would a 30-minute call work? Monday works. Happy to help.\nBest,\nSam"
    assert ev.unsupported_numbers(text, "") == []
    assert ev.unsupported_names(text, "Sam") == []
    assert ev.unsupported_numbers("We cut costs by 40%.", "cut costs by 40%") == []
    assert ev.unsupported_numbers("We cut costs by 45%.", "cut costs by 40%") == ["45"]


def test_no_angle_and_no_tone_are_nothing_to_honour() -> None:
    out = outputs(plan={"angle": None, "tone": None}, subject="Hi", body="Hi Ana. " + UNSUB)
    assert score(ev.angle_honoured, out)["score"] == 1.0
    assert score(ev.tone_honoured, out)["score"] == 1.0


def test_exact_match_names_every_differing_field() -> None:
    check = ev.exact_match("verdict_exact", ("passed", "notes"))
    assert check({}, {"passed": True, "notes": []}, {"passed": True, "notes": []})["score"] == 1.0
    bad = check({}, {"passed": True, "notes": []}, {"passed": False, "notes": ["empty body"]})
    assert bad["score"] == 0.0
    assert "passed: got True, expected False" in bad["comment"]
    assert "notes: got [], expected ['empty body']" in bad["comment"]


BASE = [
    "hydrate",
    "load_history",
    "safety_gate",
    "recall_memory",
    "decide_action",
    "research_facts",
    "email_compose",
    "review_draft",
]


def test_node_path_inserts_the_leader_only_when_it_ran() -> None:
    ref = {"path": BASE}
    assert ev.node_path({}, {"path": BASE, "leader": False}, ref)["score"] == 1.0
    led = [*BASE[:5], "plan_roles", *BASE[5:]]
    roles = ["researcher", "composer"]
    assert ev.node_path({}, {"path": led, "leader": True, "role_plan": roles}, ref)["score"] == 1.0
    assert ev.node_path({}, {"path": BASE, "leader": True, "role_plan": roles}, ref)["score"] == 0.0
    no_research = [n for n in led if n != "research_facts"]
    out = {"path": no_research, "leader": True, "role_plan": ["composer"]}
    assert ev.node_path({}, out, ref)["score"] == 1.0
    blocked = {"path": BASE[:3]}
    assert ev.node_path({}, {"path": BASE[:3], "leader": True}, blocked)["score"] == 1.0
    assert ev.node_path({}, {"path": BASE, "leader": False}, blocked)["score"] == 0.0
