"""Delegation under the seat chart (SPEC §12), on InMemorySaver with an in-memory door.

Every hand-off is checked against the chart at run time and audited; a refused one ends the
run with a `failed` report instead of a draft. Every run reports upward (`success`, `partial`,
`failed`, `needs_attention`) with when. A hand-off too large or malformed to pass whole is
refused whole: nothing is ever cut to fit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.store.memory import InMemoryStore
from pydantic import BaseModel

from graphs.campaign import build_campaign_graph
from graphs.email_orchestrator import build_email_orchestrator
from nodes.delegation import (
    MAX_DRAFT_CHARS,
    MAX_FEEDBACK_CHARS,
    MAX_HANDOFF_CHARS,
    draft_problem,
    handoff_problem,
    refusal,
)
from nodes.email.drafting import Worker
from schemas.campaign import CampaignInput
from schemas.context import Context
from schemas.errors import ConfigError
from schemas.llm import DraftOutput, LLMResult, RolePlanOutput
from schemas.orchestrator import OrchestratorInput
from schemas.seats import SeatChartError
from schemas.supervision import AuditEvent
from schemas.values import iso
from schemas.worker import WorkerInput, WorkerOutput, WorkerState
from tests.unit.fakes import T0, FakeDoor, contact

AT = iso(T0)
THREAD: RunnableConfig = {"configurable": {"thread_id": "campaign:q4:contact:k1"}}
START_THREAD = CampaignInput(campaign_id="q4", contact_id="k1", enrolled_at=AT)
WORKERS = ("researcher", "composer", "reviewer")

SHIPPED = {
    "person": ["coach", "orchestrator", "sender"],
    "coach": ["orchestrator"],
    "orchestrator": ["researcher", "composer", "reviewer"],
    "researcher": [],
    "composer": [],
    "reviewer": [],
    "sender": [],
}


def chart(path: Path, **changes: list[str]) -> str:
    """The shipped chart with some seats' `delegates_to` changed, written to `path`."""
    seats = SHIPPED | changes
    text = "".join(
        f'[seat.{name}]\nowner = "team-{name}"\njob = "does {name}"\n'
        f"delegates_to = {json.dumps(targets)}\n\n"
        for name, targets in seats.items()
    )
    path.write_text(text, encoding="utf-8")
    return str(path)


def context_for(door: FakeDoor, **values: Any) -> Context:
    context = Context(_env_file=None, llm_api_key=None, **values)
    return context.with_door(door.for_context)


def orchestrate(
    door: FakeDoor,
    job: dict[str, Any] | None = None,
    composers: dict[str, Worker] | None = None,
    **values: Any,
) -> dict[str, Any]:
    """One orchestrator run to its end; the graph never stops half-way."""
    graph = build_email_orchestrator(composers=composers)  # type: ignore[arg-type]
    app = graph.compile(checkpointer=InMemorySaver(), store=InMemoryStore())
    config: RunnableConfig = {"configurable": {"thread_id": "draft:k1"}}
    given = cast(OrchestratorInput, {"contact_id": "k1", **(job or {})})
    out = app.invoke(given, config, context=context_for(door, **values))
    assert app.get_state(config).next == ()
    return dict(out)


def refused(events: list[AuditEvent]) -> list[tuple[str, str, str]]:
    """(sender, receiver, why) of every refused delegation."""
    return [
        (e["sender"], e["receiver"], e["metadata"]["refused"])
        for e in events
        if e["type"] == "delegation" and e["metadata"].get("refused")
    ]


def hops(events: list[AuditEvent]) -> list[tuple[str, str, str]]:
    """(type, sender, receiver) of every delegation and report, in order."""
    return [(e["type"], e["sender"], e["receiver"]) for e in events]


class ScriptedModel:
    """A model that answers every role-plan call with `roles` and every draft with `draft`."""

    def __init__(self, roles: list[str], draft: DraftOutput) -> None:
        self.roles = roles
        self.draft = draft
        self.purposes: list[str] = []

    def complete(
        self, *, system: str, user: str, schema: type[BaseModel], purpose: str
    ) -> LLMResult[Any]:
        """The scripted answer for the schema asked for."""
        self.purposes.append(purpose)
        if schema is RolePlanOutput:
            return LLMResult(value=RolePlanOutput(roles=self.roles))
        return LLMResult(value=self.draft)


MARKED = DraftOutput(subject="Hi {{first_name}}", body="Dear %FIRSTNAME%, about {company}.")


@pytest.fixture
def door() -> FakeDoor:
    return FakeDoor()


# -- seat checks at run time ----------------------------------------------------------------


@pytest.mark.parametrize("how", ["context", "environment"])
def test_an_orchestrator_the_chart_forbids_the_composer_drafts_nothing_and_fails(
    door: FakeDoor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    path = chart(tmp_path / "no-composer.toml", orchestrator=["researcher", "reviewer"])
    if how == "environment":
        monkeypatch.setenv("COACHGRAPH_SEATS", path)
    named: dict[str, Any] = {"seats": path} if how == "context" else {}
    out = orchestrate(door, **named)

    assert out["draft"] is None
    assert out["report"]["status"] == "failed"
    assert "hand-off to composer refused" in out["report"]["summary"]
    assert out["report"]["at"] == AT
    assert refused(out["audit"]) == [
        (
            "orchestrator",
            "composer",
            f"orchestrator may not delegate to composer (seat chart {path})",
        )
    ]
    assert out["path"][-2:] == ["research_facts", "refused:composer"]
    assert "review_draft" not in out["path"]  # nothing more runs after a refusal
    assert hops(out["audit"])[-1] == ("report", "orchestrator", "person")


def test_the_shipped_chart_is_used_when_no_chart_is_named(door: FakeDoor) -> None:
    out = orchestrate(door)
    assert out["report"]["status"] == "success" and refused(out["audit"]) == []


def test_a_campaign_whose_coach_may_not_delegate_fails_with_an_audited_refusal(
    door: FakeDoor, tmp_path: Path
) -> None:
    path = chart(tmp_path / "no-coach.toml", coach=[])
    app = build_campaign_graph().compile(checkpointer=InMemorySaver(), store=InMemoryStore())

    app.invoke(START_THREAD, THREAD, context=context_for(door, seats=path))

    snapshot = app.get_state(THREAD)
    assert snapshot.next == () and not snapshot.interrupts
    assert snapshot.values["status"] == "failed" and snapshot.values["pending"] is None
    report = snapshot.values["last_report"]
    assert (report["status"], report["seat"], report["at"]) == ("failed", "coach", AT)
    assert "hand-off to orchestrator refused: coach may not delegate" in report["summary"]
    assert refused(door.audit_log) == [
        ("coach", "orchestrator", f"coach may not delegate to orchestrator (seat chart {path})")
    ]
    assert door.audit_log[0]["thread_id"] == THREAD["configurable"]["thread_id"]
    assert door.audit_log[0]["metadata"]["depth"] == 2
    assert door.transport_calls == 0


def test_an_orchestrator_started_at_depth_three_refuses_its_first_hand_off(
    door: FakeDoor,
) -> None:
    out = orchestrate(door, {"depth": 3})

    assert (out["draft"], out["report"]["status"]) == (None, "failed")
    [(sender, receiver, why)] = refused(out["audit"])
    assert (sender, receiver) == ("orchestrator", "researcher")
    assert "at depth 4 is deeper than 3 hand-offs" in why
    assert [e["metadata"]["depth"] for e in out["audit"] if e["type"] == "delegation"] == [4]


def test_at_depth_three_the_composer_is_refused_too_when_it_comes_first(
    door: FakeDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ScriptedModel(["composer", "reviewer"], MARKED)
    monkeypatch.setattr(door, "model", lambda tier: model)

    out = orchestrate(door, {"depth": 3}, orchestrator_role_plan=True)

    assert [r for _, r, _ in refused(out["audit"])] == ["composer"]
    assert model.purposes == ["role_plan"]  # the composer was never asked to write
    assert out["draft"] is None and out["report"]["status"] == "failed"


@pytest.mark.parametrize("seat", WORKERS)
def test_every_hand_off_from_depth_three_is_refused(door: FakeDoor, seat: str) -> None:
    context = context_for(door)
    assert refusal(context, "orchestrator", seat, 3) is None
    why = refusal(context, "orchestrator", seat, 4)
    assert why is not None and f"orchestrator → {seat} at depth 4" in why


def test_a_campaign_run_hands_off_at_depths_two_and_three(door: FakeDoor) -> None:
    app = build_campaign_graph().compile(checkpointer=InMemorySaver(), store=InMemoryStore())
    app.invoke(START_THREAD, THREAD, context=context_for(door))

    depths = [
        (e["sender"], e["receiver"], e["metadata"]["depth"])
        for e in door.audit_log
        if e["type"] == "delegation"
    ]
    assert depths == [
        ("coach", "orchestrator", 2),
        ("orchestrator", "researcher", 3),
        ("orchestrator", "composer", 3),
        ("orchestrator", "reviewer", 3),
    ]
    assert refused(door.audit_log) == []


BAD_CHARTS = {
    "cycle": '[seat.a]\nowner = "x"\ndelegates_to = ["a"]\n',
    "two owners": '[seat.a]\nowner = ["x", "y"]\n',
    "not toml": "[seat.a\n",
}


@pytest.mark.parametrize("name", sorted(BAD_CHARTS))
def test_an_invalid_chart_at_run_time_is_a_configuration_error(
    door: FakeDoor, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_CHARTS[name], encoding="utf-8")

    with pytest.raises(SeatChartError) as caught:
        orchestrate(door, seats=str(path))

    assert isinstance(caught.value, ConfigError)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_chart_at_run_time_is_a_configuration_error(
    door: FakeDoor, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        orchestrate(door, seats=str(tmp_path / "gone.toml"))


def test_an_invalid_chart_stops_a_campaign_run_without_failing_the_thread(
    door: FakeDoor, tmp_path: Path
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_CHARTS["cycle"], encoding="utf-8")
    app = build_campaign_graph().compile(checkpointer=InMemorySaver(), store=InMemoryStore())

    with pytest.raises(ConfigError):
        app.invoke(START_THREAD, THREAD, context=context_for(door, seats=str(path)))

    values = app.get_state(THREAD).values
    assert values.get("status") != "failed" and values.get("last_report") is None
    assert refused(door.audit_log) == [] and door.transport_calls == 0


# -- reports --------------------------------------------------------------------------------


def test_a_blocked_contact_reports_partial(door: FakeDoor) -> None:
    door.contacts["k1"] = contact(do_not_contact=True)
    out = orchestrate(door)
    report = out["report"]
    assert (report["status"], report["seat"], report["at"]) == ("partial", "orchestrator", AT)
    assert report["summary"].startswith("no draft: ")
    assert hops(out["audit"]) == [("report", "orchestrator", "person")]  # no worker was asked


def test_a_skipped_contact_reports_partial(door: FakeDoor) -> None:
    door.messages["k1"] = [{"direction": "out", "subject": "Hi", "body": "Hello", "at": AT}]
    report = orchestrate(door)["report"]
    assert (report["status"], report["at"]) == ("partial", AT)


def test_a_flagged_draft_reports_needs_attention_with_the_notes(
    door: FakeDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(door, "model", lambda tier: ScriptedModel([], MARKED))
    out = orchestrate(door)
    report = out["report"]
    assert (report["status"], report["at"]) == ("needs_attention", AT)
    assert "'{{first_name}}' in subject" in report["summary"]
    assert "'{company}' in body" in report["summary"]
    reviewer = next(e for e in out["audit"] if e["type"] == "report" and e["sender"] == "reviewer")
    assert reviewer["metadata"]["status"] == "needs_attention"
    final = out["audit"][-1]
    assert (final["type"], final["metadata"]["status"]) == ("report", "needs_attention")


@pytest.mark.parametrize(
    "marker", ["{{first_name}}", "%FIRSTNAME%", "<<name>>", "*|FNAME|*", "[Имя]", "[First Name]"]
)
def test_a_draft_with_any_common_merge_tag_reports_needs_attention(
    door: FakeDoor, monkeypatch: pytest.MonkeyPatch, marker: str
) -> None:
    # SPEC §6: `{{ … }}`, `{…}`, `[First Name]`-style brackets in any script, `%FIRSTNAME%`,
    # `<<name>>` and `*|FNAME|*` are all unresolved markers the reviewer flags.
    draft = DraftOutput(subject="A quick question", body=f"Dear {marker}, a short note.")
    monkeypatch.setattr(door, "model", lambda tier: ScriptedModel([], draft))

    out = orchestrate(door)

    assert out["report"]["status"] == "needs_attention"
    assert marker in out["report"]["summary"]


def test_a_draft_that_passes_review_reports_success(door: FakeDoor) -> None:
    out = orchestrate(door)
    report = out["report"]
    assert (report["status"], report["at"]) == ("success", AT)
    assert report["summary"] == "touch 1 drafted; review passed"
    assert report["metadata"]["model_calls"] == 0


def test_the_workers_hand_off_and_report_in_order(door: FakeDoor) -> None:
    out = orchestrate(door)
    assert hops(out["audit"]) == [
        ("delegation", "orchestrator", "researcher"),
        ("report", "researcher", "orchestrator"),
        ("delegation", "orchestrator", "composer"),
        ("report", "composer", "orchestrator"),
        ("delegation", "orchestrator", "reviewer"),
        ("report", "reviewer", "orchestrator"),
        ("report", "orchestrator", "person"),
    ]
    assert all(e["at"] == AT for e in out["audit"])
    statuses = [e["metadata"]["status"] for e in out["audit"] if e["type"] == "report"]
    assert statuses == ["success"] * 4


def test_a_planned_reviewer_sends_a_failed_draft_back_exactly_once(
    door: FakeDoor, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ScriptedModel(["researcher", "composer", "reviewer"], MARKED)
    monkeypatch.setattr(door, "model", lambda tier: model)

    out = orchestrate(door, orchestrator_role_plan=True)

    assert model.purposes == ["role_plan", "draft:compose", "draft:compose"]
    assert out["path"].count("email_compose") == 2 and out["path"].count("review_draft") == 2
    assert out["graph_meta"]["review_passed"] is False
    assert out["report"]["status"] == "needs_attention"
    delegated = [r for t, _, r in hops(out["audit"]) if t == "delegation"]
    assert delegated == ["researcher", "composer", "reviewer", "composer", "reviewer"]


# -- hand-offs too large or malformed are refused whole -------------------------------------


def worker_returning(draft: dict[str, Any]) -> Worker:
    """A compiled composer worker that hands back `draft` whatever it is asked."""

    def write(state: WorkerState) -> dict[str, Any]:
        prov = {"confidence": 1.0, "reason": "test", "source": "test", "evidence": []}
        return {"draft": draft, "draft_provenance": prov, "llm_calls": []}

    graph = StateGraph(WorkerState, input_schema=WorkerInput, output_schema=WorkerOutput)
    graph.add_node("write", write)
    graph.add_edge(START, "write")
    graph.add_edge("write", END)
    return graph.compile()  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("draft", "why"),
    [
        (
            {"subject": "Hi", "body": "x" * MAX_DRAFT_CHARS},
            f"it is {MAX_DRAFT_CHARS + 2} characters, over the {MAX_DRAFT_CHARS}",
        ),
        ({"body": "Hi Ana"}, "its subject or body is missing or not text"),
        ({"subject": "Hi", "body": None}, "its subject or body is missing or not text"),
    ],
)
def test_a_composer_handing_back_an_oversized_or_malformed_draft_is_refused(
    door: FakeDoor, draft: dict[str, Any], why: str
) -> None:
    out = orchestrate(door, composers={"compose": worker_returning(draft)})

    assert out["draft"] is None  # nothing cut to fit, nothing patched up
    assert (out["report"]["status"], out["report"]["at"]) == ("failed", AT)
    assert why in out["report"]["summary"]
    [(sender, receiver, reason)] = refused(out["audit"])
    assert (sender, receiver) == ("orchestrator", "composer")
    assert reason.startswith(f"the draft email_compose returned: {why}")
    assert "review_draft" not in out["path"]


def test_a_job_too_large_for_the_composer_is_refused_not_cut(door: FakeDoor) -> None:
    door.contacts["k1"] = contact(title="T" * (MAX_HANDOFF_CHARS + 1))
    out = orchestrate(door)

    assert out["draft"] is None and out["report"]["status"] == "failed"
    [(_, receiver, why)] = refused(out["audit"])
    assert receiver == "composer"
    assert why.startswith("the job for email_compose: it is ")
    assert f"over the {MAX_HANDOFF_CHARS} a hand-off may carry" in why


def test_a_campaign_feedback_too_long_is_refused_before_the_orchestrator(
    door: FakeDoor,
) -> None:
    from langgraph.types import Command

    app = build_campaign_graph().compile(checkpointer=InMemorySaver(), store=InMemoryStore())
    context = context_for(door)
    app.invoke(START_THREAD, THREAD, context=context)
    before = len([e for e in door.audit_log if e["receiver"] == "composer"])
    feedback = "x" * (MAX_FEEDBACK_CHARS + 1)

    app.invoke(Command(resume=[{"type": "response", "args": feedback}]), THREAD, context=context)

    values = app.get_state(THREAD).values
    assert values["status"] == "failed" and values["pending"] is None
    summary = values["last_report"]["summary"]
    assert f"its feedback is {MAX_FEEDBACK_CHARS + 1} characters, over {MAX_FEEDBACK_CHARS}" in (
        summary
    )
    assert refused(door.audit_log)[-1][:2] == ("coach", "orchestrator")
    assert len([e for e in door.audit_log if e["receiver"] == "composer"]) == before


# -- handoff_problem and draft_problem ------------------------------------------------------


def size(payload: dict[str, Any]) -> int:
    return len(json.dumps(payload, ensure_ascii=False))


def test_a_hand_off_exactly_at_the_limit_passes_and_one_over_is_refused() -> None:
    payload = {"note": ""}
    payload["note"] = "x" * (100 - size(payload))
    assert size(payload) == 100
    assert handoff_problem(payload, limit=100) is None
    payload["note"] += "x"
    assert handoff_problem(payload, limit=100) == (
        "it is 101 characters, over the 100 a hand-off may carry"
    )


def test_the_size_counts_characters_not_bytes() -> None:
    payload = {"note": "é" * 50}
    assert handoff_problem(payload, limit=size(payload)) is None


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", object()])
def test_a_hand_off_that_is_not_plain_json_is_refused(value: Any) -> None:
    why = handoff_problem({"value": value})
    assert why is not None and why.startswith("it is not plain JSON (")


def test_feedback_at_the_limit_passes_and_one_over_is_refused() -> None:
    assert handoff_problem({"feedback": "x" * MAX_FEEDBACK_CHARS}) is None
    assert handoff_problem({"feedback": "x" * (MAX_FEEDBACK_CHARS + 1)}) == (
        f"its feedback is {MAX_FEEDBACK_CHARS + 1} characters, over {MAX_FEEDBACK_CHARS}"
    )
    assert handoff_problem({"feedback": None}) is None


def test_the_whole_hand_off_limit_is_checked_before_the_feedback_limit() -> None:
    why = handoff_problem({"feedback": "x" * (MAX_HANDOFF_CHARS + 1)})
    assert why is not None and f"over the {MAX_HANDOFF_CHARS} a hand-off may carry" in why


@given(text=st.text(max_size=300), limit=st.integers(min_value=2, max_value=300))
def test_any_payload_over_the_limit_is_refused_never_cut(text: str, limit: int) -> None:
    payload = {"text": text, "items": [text]}
    copy = json.loads(json.dumps(payload))

    why = handoff_problem(payload, limit=limit)

    assert payload == copy  # the payload is never touched, let alone shortened
    assert (why is None) == (size(payload) <= limit)
    if why is not None:
        assert f"it is {size(payload)} characters, over the {limit}" in why


@given(feedback=st.text(min_size=MAX_FEEDBACK_CHARS - 3, max_size=MAX_FEEDBACK_CHARS + 3))
def test_any_feedback_over_its_limit_is_refused_whole(feedback: str) -> None:
    why = handoff_problem({"feedback": feedback})
    assert (why is None) == (len(feedback) <= MAX_FEEDBACK_CHARS)


@pytest.mark.parametrize(
    ("draft", "why"),
    [
        (None, "it is NoneType, not a subject and body"),
        ("Hi Ana", "it is str, not a subject and body"),
        (["Hi", "Ana"], "it is list, not a subject and body"),
        ({}, "its subject or body is missing or not text"),
        ({"subject": "Hi"}, "its subject or body is missing or not text"),
        ({"subject": 1, "body": "Hi"}, "its subject or body is missing or not text"),
        ({"subject": "", "body": ""}, None),  # empty is the reviewer's call, not a size problem
        ({"subject": "s", "body": "b" * (MAX_DRAFT_CHARS - 1)}, None),
        (
            {"subject": "s", "body": "b" * MAX_DRAFT_CHARS},
            f"it is {MAX_DRAFT_CHARS + 1} characters, over the {MAX_DRAFT_CHARS} a draft may have",
        ),
    ],
)
def test_draft_problem(draft: object, why: str | None) -> None:
    assert draft_problem(draft) == why


@given(subject=st.integers(0, MAX_DRAFT_CHARS + 5), body=st.integers(0, MAX_DRAFT_CHARS + 5))
def test_any_draft_over_the_limit_is_refused_and_left_as_it_was(subject: int, body: int) -> None:
    draft = {"subject": "s" * subject, "body": "b" * body}
    why = draft_problem(draft)
    assert (why is None) == (subject + body <= MAX_DRAFT_CHARS)
    assert (len(draft["subject"]), len(draft["body"])) == (subject, body)
