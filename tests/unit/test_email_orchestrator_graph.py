"""The email orchestrator (AA06) on InMemorySaver with an in-memory door: no file, no socket."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore

from graphs.email_orchestrator import (
    build_email_orchestrator,
    route_after_decide,
    route_after_decide_baseline,
    route_after_gate,
    route_after_review,
    route_composer,
    route_roles,
)
from schemas.context import Context
from schemas.values import iso
from tests.unit.fakes import T0, FakeDoor, contact

BEFORE_DRAFT = ["hydrate", "load_history", "safety_gate", "recall_memory", "decide_action"]


@pytest.fixture
def door() -> FakeDoor:
    return FakeDoor()


def context_for(door: FakeDoor, **flags: bool) -> Context:
    context = Context(_env_file=None, llm_api_key=None, **flags)  # type: ignore[call-arg]
    return context.with_door(door.for_context)


def draft(door: FakeDoor, contact_id: str = "k1", **flags: bool) -> dict[str, Any]:
    app = build_email_orchestrator().compile(checkpointer=InMemorySaver(), store=InMemoryStore())
    config = {"configurable": {"thread_id": f"draft:{contact_id}"}}
    out = app.invoke({"contact_id": contact_id}, config, context=context_for(door, **flags))
    assert app.get_state(config).next == ()
    return dict(out)


def test_a_first_touch_is_drafted_offline_and_passes_review(door: FakeDoor) -> None:
    out = draft(door)
    assert out["path"] == [*BEFORE_DRAFT, "research_facts", "email_compose", "review_draft"]
    assert out["action"] == "compose" and out["graph_meta"]["review_passed"]
    assert "Ana" in out["draft"]["body"] and "depot in Lyon" in out["draft"]["body"]
    assert out["graph_meta"]["role_plan"] == ["researcher", "composer"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"do_not_contact": True}, "do_not_contact"),
        ({"bounced": True}, "bounced"),
        ({"unsubscribed": True}, "unsubscribed"),
        ({"replied": True}, "replied"),
    ],
)
def test_a_flagged_contact_gets_no_draft(
    door: FakeDoor, change: dict[str, bool], reason: str
) -> None:
    door.contacts["k1"] = contact(**change)
    out = draft(door)
    assert (out["action"], out["blocked_reason"], out["draft"]) == ("blocked", reason, None)
    assert out["path"] == ["hydrate", "load_history", "safety_gate"]


@pytest.mark.parametrize(
    ("reason", "blocked"), [("legal", "suppressed"), ("unsubscribed", "unsubscribed")]
)
def test_a_suppressed_address_gets_no_draft(door: FakeDoor, reason: str, blocked: str) -> None:
    door.suppress("K1@Acme.example ", reason)
    assert draft(door)["blocked_reason"] == blocked


def test_a_company_on_the_retention_list_is_held(door: FakeDoor) -> None:
    door.retention["acme.example"] = "renewal in progress"
    assert draft(door)["blocked_reason"] == "retention_hold"


def test_an_unanswered_inbound_message_gets_a_reply(door: FakeDoor) -> None:
    door.messages["k1"] = [
        {"direction": "in", "subject": "Pricing?", "body": "What does it cost?", "at": iso(T0)}
    ]
    out = draft(door)
    assert out["action"] == "reply" and out["draft"]["subject"] == "Re: Pricing?"


def test_a_recorded_unsubscribe_is_never_answered(door: FakeDoor) -> None:
    door.messages["k1"] = [
        {"direction": "in", "subject": "(unsubscribe)", "body": "", "at": iso(T0)}
    ]
    assert draft(door)["action"] == "compose"


def test_a_one_off_draft_right_after_an_email_is_skipped(door: FakeDoor) -> None:
    door.messages["k1"] = [{"direction": "out", "subject": "Hi", "body": "Hello", "at": iso(T0)}]
    out = draft(door)
    assert (out["action"], out["draft"]) == ("skip", None)
    assert out["path"] == BEFORE_DRAFT


def test_the_leader_without_a_model_fails_open_to_the_default_plan(door: FakeDoor) -> None:
    out = draft(door, orchestrator_role_plan=True)
    assert out["path"][len(BEFORE_DRAFT)] == "plan_roles"
    assert out["graph_meta"]["role_plan"] == ["researcher", "composer"]
    assert out["provenance"]["role_plan"]["source"] == "default"


# -- route functions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocked", "expected"), [("suppressed", "report_outcome"), (None, "recall_memory")]
)
def test_route_after_gate(blocked: str | None, expected: str) -> None:
    assert route_after_gate({"blocked_reason": blocked}) == expected  # type: ignore[typeddict-item]


PLANNED = ["researcher", "composer"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"action": "skip", "role_plan": PLANNED}, "report_outcome"),
        ({"action": "compose", "role_plan": PLANNED}, "research_facts"),
        ({"action": "reply", "role_plan": ["composer"]}, "email_reply"),
    ],
)
def test_route_after_decide_baseline(state: dict[str, Any], expected: str) -> None:
    assert route_after_decide_baseline(state) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("leader", "action", "expected"),
    [
        (True, "compose", "plan_roles"),
        (True, "skip", "report_outcome"),
        (False, "compose", "research_facts"),
    ],
)
def test_route_after_decide(door: FakeDoor, leader: bool, action: str, expected: str) -> None:
    run = Runtime(context=context_for(door, orchestrator_role_plan=leader))
    state = {"action": action, "role_plan": PLANNED}
    assert route_after_decide(state, run) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"action": "compose", "role_plan": PLANNED}, "research_facts"),
        ({"action": "compose", "role_plan": PLANNED, "brief": {"facts": []}}, "email_compose"),
        ({"action": "reply", "role_plan": ["composer"]}, "email_reply"),
    ],
)
def test_route_roles(state: dict[str, Any], expected: str) -> None:
    assert route_roles(state) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("action", "expected"), [("reply", "email_reply"), ("compose", "email_compose")]
)
def test_route_composer(action: str, expected: str) -> None:
    assert route_composer({"action": action}) == expected  # type: ignore[typeddict-item]


@pytest.mark.parametrize(
    ("plan", "passed", "revisions", "expected"),
    [
        (["researcher", "composer", "reviewer"], False, 0, "email_compose"),
        (["researcher", "composer", "reviewer"], False, 1, "report_outcome"),
        (["researcher", "composer", "reviewer"], True, 0, "report_outcome"),
        (["researcher", "composer"], False, 0, "report_outcome"),
    ],
)
def test_route_after_review(plan: list[str], passed: bool, revisions: int, expected: str) -> None:
    state = {
        "action": "compose",
        "role_plan": plan,
        "graph_meta": {"review_passed": passed},
        "revisions": revisions,
    }
    assert route_after_review(state) == expected  # type: ignore[arg-type]
