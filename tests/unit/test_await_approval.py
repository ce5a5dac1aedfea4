"""await_approval as Agent Inbox drives it: a refused edit says why first; "Mark as resolved" skips.

Each response is shaped as Agent Inbox sends it (`[HumanResponse]` as the resume value; an
accept carries the action request; "Mark as resolved" is `update_state(None, as_node=END)`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.constants import END
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

import schemas.door
from coachgraph.runner.server import ServerCampaignGraph, server_graph
from graphs.campaign import build_campaign_graph
from nodes.campaign.await_approval import RESOLVED, refusal_line
from schemas.approval import HumanResponse
from schemas.campaign import CampaignInput
from schemas.context import Context
from schemas.values import iso
from tests.unit.fakes import T0, FakeDoor

THREAD = {"configurable": {"thread_id": "0b5e8a52-6f1c-4f43-9d0e-1f1f3c3c2a10"}}
"""A server's thread id: a UUID that says nothing about the campaign or the contact."""
START = CampaignInput(campaign_id="q4", contact_id="k1", enrolled_at=iso(T0))


@pytest.fixture
def door(monkeypatch: pytest.MonkeyPatch) -> FakeDoor:
    """The fake door, also the default one: a server run (and a resolve) brings no door."""
    fake = FakeDoor()
    monkeypatch.setattr(schemas.door, "_default_door", fake.for_context)
    return fake


@pytest.fixture
def context(door: FakeDoor) -> Context:
    return Context(_env_file=None, llm_api_key=None).with_door(door.for_context)


@pytest.fixture
def app() -> Any:
    graph = build_campaign_graph().compile(checkpointer=InMemorySaver(), store=InMemoryStore())
    return server_graph(graph, ServerCampaignGraph)


def request_of(app: Any) -> dict[str, Any]:
    snapshot = app.get_state(THREAD)
    assert snapshot.next == ("await_approval",)
    request: dict[str, Any] = snapshot.interrupts[0].value[0]
    return request


def drafted(app: Any, context: Context) -> dict[str, Any]:
    app.invoke(START, THREAD, context=context)
    return request_of(app)


def resume(app: Any, context: Context, response: dict[str, Any]) -> dict[str, Any]:
    app.invoke(Command(resume=[response]), THREAD, context=context)
    values: dict[str, Any] = app.get_state(THREAD).values
    return values


def edited(request: dict[str, Any], **args: str) -> dict[str, Any]:
    """An Agent Inbox edit: the whole action request, with the person's changes."""
    action = request["action_request"]
    return {"type": "edit", "args": {**action, "args": {**action["args"], **args}}}


def test_a_refused_edit_says_why_first_and_the_draft_waits(
    app: Any, context: Context, door: FakeDoor
) -> None:
    request = drafted(app, context)
    body = request["action_request"]["args"]["body"].replace("Sam", "{{sender_name}}")
    resume(app, context, edited(request, body=body))
    again = request_of(app)
    assert again["description"].startswith("**Not sent, fix first:** template marker")
    assert "{{sender_name}}" in again["description"].split("\n\n")[0]
    assert again["action_request"] == request["action_request"]
    assert door.transport_calls == 0


def test_a_good_edit_after_a_refused_one_sends_and_drops_the_reason(
    app: Any, context: Context, door: FakeDoor
) -> None:
    request = drafted(app, context)
    resume(app, context, edited(request, subject="Hi {{first_name}}"))
    values = resume(app, context, edited(request_of(app), subject="A better subject"))
    assert [(t["outcome"], t["edited"]) for t in values["touches"]] == [("sent", True)]
    assert door.history("k1")[-1]["subject"] == "A better subject"
    assert refusal_line(values) == ""  # type: ignore[arg-type]


def test_accept_as_agent_inbox_sends_it_carries_the_request_and_sends(
    app: Any, context: Context, door: FakeDoor
) -> None:
    request = drafted(app, context)
    values = resume(app, context, {"type": "accept", "args": request["action_request"]})
    assert [t["outcome"] for t in values["touches"]] == ["sent"] and door.transport_calls == 1


def test_mark_as_resolved_skips_the_touch_and_schedules_the_next(
    app: Any, context: Context, door: FakeDoor
) -> None:
    drafted(app, context)
    app.update_state(THREAD, None, as_node=END)  # what Agent Inbox sends
    snapshot = app.get_state(THREAD)
    assert snapshot.next == () and not snapshot.interrupts
    assert snapshot.values["status"] == "active"
    assert [(t["touch"], t["outcome"]) for t in snapshot.values["touches"]] == [(1, "skipped")]
    assert RESOLVED in snapshot.values["last_report"]["summary"]
    decision = [e for e in door.audit_log if e["type"] == "decision"][-1]
    assert decision["metadata"]["resolved"] is True and decision["metadata"]["decision"] == "ignore"
    assert door.transport_calls == 0


def test_mark_as_resolved_through_the_async_api(app: Any, context: Context) -> None:
    drafted(app, context)
    config = asyncio.run(app.aupdate_state(THREAD, None, as_node=END))
    assert (
        config["configurable"]["checkpoint_id"]
        == app.get_state(THREAD).config["configurable"]["checkpoint_id"]
    )
    assert [t["outcome"] for t in app.get_state(THREAD).values["touches"]] == ["skipped"]


def test_other_state_updates_are_langgraphs_own(app: Any, context: Context) -> None:
    drafted(app, context)
    app.update_state(THREAD, {"feedback": "noted"})
    snapshot = app.get_state(THREAD)
    assert snapshot.values["feedback"] == "noted" and snapshot.values["status"] != "active"


def test_ignore_is_not_taken_for_a_resolve(app: Any, context: Context, door: FakeDoor) -> None:
    drafted(app, context)
    resume(app, context, HumanResponse(type="ignore", args=None))  # type: ignore[arg-type]
    decision = [e for e in door.audit_log if e["type"] == "decision"][-1]
    assert "resolved" not in decision["metadata"]
