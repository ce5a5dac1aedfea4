"""The campaign graph (AA02) on InMemorySaver with an in-memory door: no file, no socket.

Each resume branch has its own test, and each asserts on persisted state
(`get_state(cfg).next`, the interrupt, the touches) and on what the fake transport got.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command
from pydantic import BaseModel

from graphs.campaign import (
    build_campaign_graph,
    route_after_approval,
    route_after_check,
    route_after_compose,
    route_after_send,
    route_start,
)
from nodes.campaign.schedule_next import due_at
from nodes.campaign.send_touch import send_touch
from nodes.email.recall_memory import memory_namespace
from schemas.approval import HumanResponse
from schemas.campaign import CampaignInput, CampaignState
from schemas.context import Context
from schemas.llm import DraftOutput, LLMResult
from schemas.values import iso
from tests.unit.fakes import T0, FakeDoor

THREAD = {"configurable": {"thread_id": "campaign:q4:contact:k1"}}
START = CampaignInput(campaign_id="q4", contact_id="k1", enrolled_at=iso(T0))
ACCEPT = HumanResponse(type="accept", args=None)
IGNORE = HumanResponse(type="ignore", args="not now")


def edit(subject: str, body: str) -> HumanResponse:
    return HumanResponse(
        type="edit", args={"action": "send_email", "args": {"subject": subject, "body": body}}
    )


@pytest.fixture
def door() -> FakeDoor:
    return FakeDoor()


@pytest.fixture
def context(door: FakeDoor) -> Context:
    """Flags off, no key, no .env: every value explicit, the door in memory."""
    return Context(_env_file=None, llm_api_key=None).with_door(door.for_context)  # type: ignore[call-arg]


@pytest.fixture
def app() -> Any:
    return build_campaign_graph().compile(checkpointer=InMemorySaver(), store=InMemoryStore())


def drafted(app: Any, context: Context) -> dict[str, Any]:
    """Run the thread to its first draft; return the Agent Inbox request."""
    app.invoke(START, THREAD, context=context)
    snapshot = app.get_state(THREAD)
    assert snapshot.next == ("await_approval",)
    request: dict[str, Any] = snapshot.interrupts[0].value[0]
    return request


def decide(app: Any, context: Context, response: HumanResponse) -> CampaignState:
    app.invoke(Command(resume=[response]), THREAD, context=context)
    values: CampaignState = app.get_state(THREAD).values
    return values


# -- a whole thread -------------------------------------------------------------------------


def test_a_thread_from_enrolment_through_draft_approval_send_and_schedule(
    app: Any, context: Context, door: FakeDoor
) -> None:
    request = drafted(app, context)
    assert request["action_request"]["args"]["to"] == "k1@acme.example"
    assert "Touch 1 of 6" in request["description"]
    assert door.transport_calls == 0  # nothing leaves before a person says so

    state = decide(app, context, ACCEPT)

    assert app.get_state(THREAD).next == ()
    assert [(t["touch"], t["outcome"]) for t in state["touches"]] == [(1, "sent")]
    assert door.transport_calls == 1
    assert door.history("k1")[0]["subject"] == request["action_request"]["args"]["subject"]
    assert due_at(state) == T0 + timedelta(days=4)  # DEFAULT_CADENCE_DAYS[1]

    app.invoke(START, THREAD, context=context)  # a tick before the next touch is due
    assert app.get_state(THREAD).next == () and door.transport_calls == 1
    door.advance(4)
    second = drafted(app, context)
    assert "Touch 2 of 6" in second["description"]
    assert second["action_request"]["args"]["subject"].startswith("Re: ")


# -- one test per resume branch ---------------------------------------------------------------


def test_accept_sends_the_draft_as_it_is(app: Any, context: Context, door: FakeDoor) -> None:
    request = drafted(app, context)
    decide(app, context, ACCEPT)
    [delivery] = door.sent.values()
    assert delivery.outcome == "sent"
    assert door.history("k1")[-1]["body"] == request["action_request"]["args"]["body"]


def test_a_clean_edit_sends_the_persons_version(app: Any, context: Context, door: FakeDoor) -> None:
    drafted(app, context)
    body = "Hi Ana,\n\nShort and to the point.\n\nSam\n\nReply STOP to opt out."
    state = decide(app, context, edit("My subject", body))
    assert state["touches"][0]["edited"] is True
    assert door.history("k1")[-1] == door.history("k1")[-1] | {
        "subject": "My subject",
        "body": body,
    }


def test_an_edit_with_a_marker_is_refused_and_the_draft_waits(
    app: Any, context: Context, door: FakeDoor
) -> None:
    request = drafted(app, context)
    decide(app, context, edit("Hi {{first_name}}", "Dear [First Name], hello."))
    snapshot = app.get_state(THREAD)
    assert snapshot.next == ("await_approval",) and door.transport_calls == 0
    again = snapshot.interrupts[0].value[0]
    assert again["action_request"] == request["action_request"]
    assert "{{first_name}}" in again["description"]


def test_feedback_recomposes_twice_at_most(app: Any, context: Context, door: FakeDoor) -> None:
    drafted(app, context)
    for round_ in (1, 2):
        state = decide(app, context, HumanResponse(type="response", args="more formal please"))
        assert state["pending"] is not None and state["pending"]["feedback_rounds"] == round_
        assert app.get_state(THREAD).next == ("await_approval",)
    request = app.get_state(THREAD).interrupts[0].value[0]
    assert request["config"]["allow_respond"] is False
    assert door.transport_calls == 0


def test_ignore_skips_the_touch_and_schedules_the_next(
    app: Any, context: Context, door: FakeDoor
) -> None:
    drafted(app, context)
    state = decide(app, context, IGNORE)
    assert [(t["touch"], t["outcome"]) for t in state["touches"]] == [(1, "skipped")]
    assert app.get_state(THREAD).next == () and door.transport_calls == 0
    assert due_at(state) == T0 + timedelta(days=4)


class MarkedModel:
    """A model whose every draft leaves merge tags in."""

    def complete(
        self, *, system: str, user: str, schema: type[BaseModel], purpose: str
    ) -> LLMResult[Any]:
        draft = DraftOutput(subject="Hi {{first_name}}", body="Dear [First Name], {company}.")
        return LLMResult(value=draft)


def test_accepting_a_flagged_draft_is_refused_and_the_draft_waits(
    app: Any, context: Context, door: FakeDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(door, "model", lambda tier: MarkedModel())
    request = drafted(app, context)
    assert "flagged" in request["description"]

    decide(app, context, ACCEPT)

    snapshot = app.get_state(THREAD)
    assert snapshot.next == ("await_approval",) and door.transport_calls == 0
    assert "Not sent, fix first" in snapshot.interrupts[0].value[0]["description"]


# -- stops --------------------------------------------------------------------------------------


def test_a_suppressed_contact_is_stopped_before_any_draft(
    app: Any, context: Context, door: FakeDoor
) -> None:
    door.suppress("K1+promo@Acme.example")  # the +tag form blocks the base address's owner too
    door.suppress("k1@acme.example")
    app.invoke(START, THREAD, context=context)
    state = app.get_state(THREAD)
    assert state.next == () and state.values["status"] == "stopped"
    assert state.values["stop_reason"] == "suppressed"


def test_an_opt_out_while_the_draft_waits_stops_the_send(
    app: Any, context: Context, door: FakeDoor
) -> None:
    drafted(app, context)
    door.suppress("k1@acme.example", "unsubscribed")
    state = decide(app, context, ACCEPT)
    assert (state["status"], state["stop_reason"]) == ("stopped", "unsubscribed")
    assert door.transport_calls == 0


def test_a_send_run_twice_delivers_and_remembers_once(
    app: Any, context: Context, door: FakeDoor
) -> None:
    drafted(app, context)
    state = app.get_state(THREAD).values | {"status": "active"}
    store = InMemoryStore()
    run = Runtime(context=context, store=store)

    first = send_touch(state, run)
    again = send_touch(state, run)  # a run that died after sending is run again

    assert first["touches"] == again["touches"] and door.transport_calls == 1
    assert len(door.history("k1")) == 1
    memory = store.get(memory_namespace("k1"), "touches")
    assert memory is not None and memory.value["touches"] == 1


# -- route functions ------------------------------------------------------------------------------


def runtime(context: Context) -> Runtime[Context]:
    return Runtime(context=context)


@pytest.mark.parametrize(
    ("coach", "state", "expected"),
    [
        (False, {}, "check_reply"),
        (True, {}, "coach_plan"),
        (True, {"plan": {"source": "coach"}}, "check_reply"),
        (True, {"touches": [{"touch": 1}]}, "check_reply"),
    ],
)
def test_route_start(context: Context, coach: bool, state: dict[str, Any], expected: str) -> None:
    run = runtime(context.replace(campaign_coach_enabled=coach))
    assert route_start(state, run) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"status": "stopped"}, "__end__"),
        ({"status": "completed"}, "__end__"),
        ({"status": "active", "enrolled_at": iso(T0), "touches": []}, "compose_touch"),
        (
            {"status": "active", "enrolled_at": iso(T0), "touches": [{"at": iso(T0)}]},
            "__end__",
        ),
    ],
)
def test_route_after_check(context: Context, state: dict[str, Any], expected: str) -> None:
    assert route_after_check(state, runtime(context)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "expected"), [("stopped", "__end__"), ("awaiting_approval", "await_approval")]
)
def test_route_after_compose(status: str, expected: str) -> None:
    assert route_after_compose({"status": status}) == expected  # type: ignore[typeddict-item]


PENDING = {"feedback_rounds": 0}


@pytest.mark.parametrize(
    ("decision", "rounds", "expected"),
    [
        ({"type": "accept"}, 0, "send_touch"),
        ({"type": "edit"}, 0, "send_touch"),
        ({"type": "edit", "rejected_notes": ["empty body"]}, 0, "await_approval"),
        ({"type": "accept", "rejected_notes": ["template marker"]}, 0, "await_approval"),
        ({"type": "response"}, 1, "compose_touch"),
        ({"type": "response"}, 3, "await_approval"),
        ({"type": "ignore"}, 0, "schedule_next"),
    ],
)
def test_route_after_approval(decision: dict[str, Any], rounds: int, expected: str) -> None:
    state = {"decision": decision, "pending": {"feedback_rounds": rounds}}
    assert route_after_approval(state) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "expected"), [("stopped", "__end__"), ("active", "schedule_next")]
)
def test_route_after_send(status: str, expected: str) -> None:
    assert route_after_send({"status": status}) == expected  # type: ignore[typeddict-item]


def test_state_stays_plain_json(app: Any, context: Context) -> None:
    drafted(app, context)
    decide(app, context, ACCEPT)
    json.dumps(app.get_state(THREAD).values)  # no pickled classes in a checkpoint (SPEC §8)
