"""The four ways a multi-agent system fails (seed 003), each proven end to end on each database.

Cascades, runaway loops, silent message loss and dead escalation: each is driven through
the real runner and CLI over SQLite and Postgres, with the real `openai` client talking to a
scripted loopback model where one is needed, and each ends in a report a person can see in
`status --json`, `attention --json` or `audit --json` (SPEC §12 "Bounded loops").
"""

from __future__ import annotations

import json
import mailbox
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from sqlalchemy import select

import graphs.campaign
from coachgraph.demo.run import load_demo_crm
from coachgraph.runner.campaigns import campaign_runtime
from coachgraph.runner.tick import RECURSION_LIMIT, RETRY_BUDGET
from coachgraph.store.crm import CrmStore, enrollments
from graphs.campaign import CampaignGraph, build_campaign_graph, route_after_check
from graphs.email_orchestrator import build_email_orchestrator
from nodes.campaign.check_reply import check_reply
from nodes.delegation import MAX_DRAFT_CHARS, MAX_FEEDBACK_CHARS
from nodes.email.drafting import Worker
from schemas.campaign import CampaignInput, CampaignState
from schemas.context import Context
from schemas.values import iso, parse_instant
from schemas.worker import WorkerInput, WorkerOutput, WorkerState
from tests.integration.campaign_helpers import Campaign
from tests.integration.conftest import Run, one_line_error
from tests.integration.fake_openai import FAKE_API_KEY, FakeOpenAI, Reply, by_kind

pytestmark = pytest.mark.integration

T0 = parse_instant("2026-11-02T09:00:00Z")
AT = iso(T0)
CONTACT = "c02"
"""Daniel Okafor at Northwind Logistics: nothing blocks him, no history: a first touch."""
THREAD = f"campaign:q4:contact:{CONTACT}"
CLEAN_BODY = "Hi Daniel,\n\nNorthwind keeps growing; a short call could help.\n\nSam"
GARBAGE = Reply("Sure! Here is what you asked for: a lovely email.")


def ok(run: Run) -> Run:
    assert run.code == 0, run
    return run


def as_json(run: Run) -> Any:
    return json.loads(ok(run).out)


def draft_reply(subject: str, body: str) -> Reply:
    return Reply(json.dumps({"subject": subject, "body": body}))


def plan(*roles: str) -> Reply:
    return Reply(json.dumps({"roles": list(roles)}))


@pytest.fixture
def db(any_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The demo CRM in a SQLite file or a throwaway Postgres database, as COACHGRAPH_DB."""
    load_demo_crm(any_db)
    monkeypatch.setenv("COACHGRAPH_DB", any_db)
    monkeypatch.setenv("COACHGRAPH_OUTBOX_DIR", str(tmp_path / "outbox"))
    return any_db


@pytest.fixture
def model(fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """The loopback model as every command's model (one attempt per call unless changed)."""
    monkeypatch.setenv("LLM_API_KEY", FAKE_API_KEY)
    monkeypatch.setenv("LLM_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("LLM_MAX_ATTEMPTS", "1")
    return fake_llm


@pytest.fixture
def campaign(cli: Callable[..., Run], db: str) -> None:
    """Campaign q4 with the one contact enrolled at T0, through the CLI."""
    ok(
        cli(
            "campaign", "create", "--name", "q4", "--offer", "a short walkthrough",
            "--sender-name", "Sam", "--sender-email", "sam@seller.example", "--id", "q4",
        )
    )  # fmt: skip
    ok(cli("campaign", "enroll", "q4", "--contact", CONTACT, "--now", AT))


def in_process(graph: CampaignGraph | None = None) -> Campaign:
    """The same campaign driven in this process (for a graph the CLI cannot be given)."""
    return Campaign(context=Context(), campaign_id="q4", graph=graph)


def sent(tmp_path: Path) -> list[mailbox.MaildirMessage]:
    folder = tmp_path / "outbox"
    return list(mailbox.Maildir(folder).values()) if folder.exists() else []


def nothing_sent(cli: Callable[..., Run], tmp_path: Path) -> bool:
    return as_json(cli("outbox", "--json")) == [] and sent(tmp_path) == []


def status(cli: Callable[..., Run]) -> dict[str, Any]:
    [row] = as_json(cli("status", "--json"))
    assert row["thread_id"] == THREAD
    return dict(row)


def audit(cli: Callable[..., Run], kind: str | None = None) -> list[dict[str, Any]]:
    args = ["--type", kind] if kind else []
    rows: list[dict[str, Any]] = as_json(cli("audit", "--thread", THREAD, *args, "--json"))
    return rows


def waiting(cli: Callable[..., Run]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = as_json(cli("approvals", "list", "--json"))
    return items


def refusals(cli: Callable[..., Run]) -> list[dict[str, Any]]:
    return [r for r in audit(cli, "delegation") if r["metadata"].get("refused")]


# -- 1. cascades: a hallucinated merge tag never travels on to the contact ------------------


@pytest.mark.parametrize("marker", ["{{first_name}}", "%FIRSTNAME%"])
def test_a_draft_with_an_unresolved_merge_tag_stops_at_the_reviewer_and_a_person(
    cli: Callable[..., Run],
    campaign: None,
    model: FakeOpenAI,
    tmp_path: Path,
    marker: str,
) -> None:
    body = f"Hi {marker},\n\nNorthwind keeps growing; a short call could help.\n\nSam"
    model.set_responder(by_kind(draft=draft_reply("A quick question", body)))
    ok(cli("tick", "--now", AT))

    [item] = waiting(cli)
    assert item["review_passed"] is False
    assert any(marker in note for note in item["review_notes"]), item["review_notes"]
    report = status(cli)["last_report"]
    assert report["status"] == "needs_attention" and marker in report["summary"]
    [orchestrator] = [r for r in audit(cli, "report") if r["sender"] == "orchestrator"]
    assert orchestrator["metadata"]["status"] == "needs_attention"

    refused = one_line_error(cli("approvals", "approve", THREAD, "--now", AT))
    assert marker in refused and "the draft still waits" in refused
    still = body.replace("Northwind", "Northwind Logistics")
    refused_edit = one_line_error(
        cli("approvals", "edit", THREAD, "--subject", "Hello", "--body", still, "--now", AT)
    )
    assert refused_edit.startswith("error: edit not accepted") and marker in refused_edit

    assert nothing_sent(cli, tmp_path)
    assert [i["thread_id"] for i in waiting(cli)] == [THREAD]
    assert model.count_of("draft") == 1  # the flagged draft was not silently redrafted


# -- 2. runaway loops: every loop has a budget, and hitting it ends in a report -------------


def test_a_third_round_of_feedback_is_refused_and_the_draft_still_waits(
    cli: Callable[..., Run], campaign: None, tmp_path: Path
) -> None:
    ok(cli("tick", "--now", AT))
    for round_ in (1, 2):
        ok(cli("approvals", "respond", THREAD, "--feedback", f"shorter, take {round_}"))
        assert waiting(cli)[0]["feedback_rounds"] == round_
    drafted = waiting(cli)[0]

    refused = one_line_error(cli("approvals", "respond", THREAD, "--feedback", "again"))

    assert "already had 2 rounds of feedback" in refused
    assert waiting(cli) == [drafted]
    shown = as_json(cli("approvals", "show", THREAD, "--json"))
    assert shown["request"]["config"]["allow_respond"] is False
    responses = [r for r in audit(cli, "decision") if r["metadata"]["decision"] == "response"]
    assert len(responses) == 2
    to_orchestrator = [r for r in audit(cli, "delegation") if r["receiver"] == "orchestrator"]
    assert len(to_orchestrator) == 3  # the first draft and one per feedback round
    assert nothing_sent(cli, tmp_path)


def test_a_third_round_of_feedback_past_the_cli_does_not_recompose(
    cli: Callable[..., Run], campaign: None, tmp_path: Path
) -> None:
    ok(cli("tick", "--now", AT))
    for round_ in (1, 2):
        ok(cli("approvals", "respond", THREAD, "--feedback", f"shorter, take {round_}"))
    drafted = waiting(cli)[0]

    with campaign_runtime(Context(now=AT)) as rt:
        third: Command[Any] = Command(resume=[{"type": "response", "args": "once more"}])
        rt.app.invoke(third, rt.config(THREAD), context=rt.context)
        snapshot = rt.app.get_state(rt.config(THREAD))

    assert snapshot.next == ("await_approval",)  # the graph's own budget holds
    assert snapshot.values["pending"]["body"] == drafted["body"]
    assert snapshot.interrupts[0].value[0]["config"]["allow_respond"] is False
    to_orchestrator = [r for r in audit(cli, "delegation") if r["receiver"] == "orchestrator"]
    assert len(to_orchestrator) == 3
    assert nothing_sent(cli, tmp_path)


def test_a_reviewer_that_always_fails_the_draft_sends_it_back_exactly_once(
    cli: Callable[..., Run],
    campaign: None,
    model: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_ROLE_PLAN", "1")
    model.set_responder(
        by_kind(
            role_plan=plan("researcher", "composer", "reviewer"),
            draft=draft_reply("Hi {{first_name}}", "Dear [First Name], about {company}."),
        )
    )

    ok(cli("tick", "--now", AT))

    assert (model.count_of("role_plan"), model.count_of("draft")) == (1, 2)
    asked = [r["receiver"] for r in audit(cli, "delegation")]
    assert asked == ["orchestrator", "researcher", "composer", "reviewer", "composer", "reviewer"]
    [item] = waiting(cli)
    assert item["review_passed"] is False and "{{first_name}}" in item["subject"]
    report = status(cli)["last_report"]
    assert report["status"] == "needs_attention" and "{{first_name}}" in report["summary"]
    assert nothing_sent(cli, tmp_path)


@pytest.mark.parametrize("attempts", [1, 3])
def test_a_model_answering_garbage_is_asked_a_bounded_number_of_times_then_fails_open(
    cli: Callable[..., Run],
    campaign: None,
    model: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    attempts: int,
) -> None:
    monkeypatch.setenv("LLM_MAX_ATTEMPTS", str(attempts))
    monkeypatch.setenv("ORCHESTRATOR_ROLE_PLAN", "1")
    model.set_responder(by_kind(role_plan=GARBAGE, draft=GARBAGE))

    ok(cli("tick", "--now", AT))

    assert (model.count_of("role_plan"), model.count_of("draft")) == (attempts, attempts)
    fail_opens = {r["sender"]: r["content"] for r in audit(cli, "fail_open")}
    assert sorted(fail_opens) == ["draft", "role_plan"]
    assert all("fail-open" in c and "bad content" in c for c in fail_opens.values()), fail_opens
    composer = next(r for r in audit(cli, "report") if r["sender"] == "composer")
    assert composer["metadata"]["status"] == "partial"  # an offline draft, and it says so
    [item] = waiting(cli)
    assert item["review_passed"] is True
    assert status(cli)["status"] == "awaiting_approval"


def spinning_graph(spins: list[str]) -> CampaignGraph:
    """A campaign graph whose composer hands every draft straight back: it never stops."""
    graph: CampaignGraph = StateGraph(
        CampaignState, context_schema=Context, input_schema=CampaignInput
    )

    def compose_touch(state: CampaignState) -> dict[str, Any]:
        spins.append(state["contact_id"])
        return {"status": "active"}

    graph.add_node("check_reply", check_reply)
    graph.add_node("compose_touch", compose_touch)
    graph.add_edge(START, "check_reply")
    # Nothing is ever approved here, so no touch waits to be sent: send_touch is never taken.
    targets = {"compose_touch": "compose_touch", "send_touch": END, "__end__": END}
    graph.add_conditional_edges("check_reply", route_after_check, targets)
    graph.add_edge("compose_touch", "check_reply")  # the route back
    return graph


def test_a_graph_that_loops_forever_stops_at_the_recursion_limit_and_fails_after_retries(
    cli: Callable[..., Run], campaign: None, tmp_path: Path
) -> None:
    spins: list[str] = []
    runner = in_process(spinning_graph(spins))

    first = runner.tick(T0)
    assert (first["resumed"], first["failed"]) == (1, 1)
    assert f"Recursion limit of {RECURSION_LIMIT} reached" in first["errors"][0]
    assert runner.tick(T0 + timedelta(minutes=1))["resumed"] == 0  # backing off
    assert runner.tick(T0 + timedelta(minutes=15))["failed"] == 1
    assert status(cli)["status"] == "active" and status(cli)["attempts"] == RETRY_BUDGET
    last = runner.tick(T0 + timedelta(minutes=75))
    assert last["failed"] == 1

    row = status(cli)
    assert (row["status"], row["attempts"]) == ("failed", RETRY_BUDGET + 1)
    report = row["last_report"]
    assert report["status"] == "failed" and "GraphRecursionError" in report["summary"]
    assert f"failed after {RETRY_BUDGET + 1} attempts" in report["summary"]
    [attention] = as_json(cli("attention", "--json"))
    assert (attention["kind"], attention["thread_id"]) == ("failed", THREAD)
    assert "Recursion limit" in attention["reason"]
    kinds = [(r["type"], r["metadata"].get("status")) for r in audit(cli)]
    assert kinds == [("retry", None), ("retry", None), ("report", "failed")]
    assert len(spins) <= (RETRY_BUDGET + 1) * RECURSION_LIMIT  # bounded, never a hang

    later = runner.tick(T0 + timedelta(days=30))
    assert later["resumed"] == 0 and status(cli)["status"] == "failed"
    assert nothing_sent(cli, tmp_path)


# -- 3. silent message loss: a hand-off too big to pass whole is refused, never cut ---------

LONG_FEEDBACK = "x" * (MAX_FEEDBACK_CHARS + 1)


def test_the_cli_refuses_feedback_too_long_to_pass_whole(
    cli: Callable[..., Run], campaign: None, tmp_path: Path
) -> None:
    ok(cli("tick", "--now", AT))
    before = waiting(cli)

    refused = one_line_error(cli("approvals", "respond", THREAD, "--feedback", LONG_FEEDBACK))

    assert f"--feedback is {MAX_FEEDBACK_CHARS + 1} characters" in refused
    assert f"at most {MAX_FEEDBACK_CHARS}" in refused
    assert waiting(cli) == before and before[0]["feedback_rounds"] == 0
    assert nothing_sent(cli, tmp_path)


def test_feedback_too_long_given_to_the_graph_directly_fails_the_hand_off_whole(
    cli: Callable[..., Run], campaign: None, tmp_path: Path
) -> None:
    ok(cli("tick", "--now", AT))
    [drafted] = waiting(cli)

    with campaign_runtime(Context(now=AT)) as rt:
        resume: Command[Any] = Command(resume=[{"type": "response", "args": LONG_FEEDBACK}])
        rt.app.invoke(resume, rt.config(THREAD), context=rt.context)
        snapshot = rt.app.get_state(rt.config(THREAD))

    values = snapshot.values
    assert snapshot.next == () and (values["status"], values["pending"]) == ("failed", None)
    sizes = f"its feedback is {MAX_FEEDBACK_CHARS + 1} characters, over {MAX_FEEDBACK_CHARS}"
    assert values["last_report"]["status"] == "failed"
    assert sizes in values["last_report"]["summary"]
    [refusal] = refusals(cli)
    assert (refusal["sender"], refusal["receiver"]) == ("coach", "orchestrator")
    assert sizes in refusal["metadata"]["refused"]
    composers = [r for r in audit(cli, "delegation") if r["receiver"] == "composer"]
    assert len(composers) == 1  # only the first draft: nothing was made from a cut feedback
    assert nothing_sent(cli, tmp_path) and drafted["body"] not in json.dumps(values)


def test_feedback_too_long_recorded_for_a_tick_ends_failed_in_status_and_attention(
    cli: Callable[..., Run], campaign: None, db: str, tmp_path: Path
) -> None:
    """A decision recorded for a tick to apply (as a process that died leaves it) is no way in."""
    ok(cli("tick", "--now", AT))
    [drafted] = waiting(cli)
    decision = {"type": "response", "args": LONG_FEEDBACK}
    recorded = {"interrupt_id": drafted["interrupt_id"], "response": decision}
    crm = CrmStore(db)
    with crm.connect(write=True) as conn:
        conn.execute(
            enrollments.update()
            .where(enrollments.c.thread_id == THREAD)
            .values(status="active", next_due_at=AT, pending_decision=json.dumps(recorded))
        )

    ok(cli("tick", "--now", AT))

    row = status(cli)
    assert row["status"] == "failed" and row["last_report"]["status"] == "failed"
    assert f"its feedback is {MAX_FEEDBACK_CHARS + 1} characters" in row["last_report"]["summary"]
    [attention] = as_json(cli("attention", "--json"))
    assert (attention["kind"], attention["thread_id"]) == ("failed", THREAD)
    assert f"over {MAX_FEEDBACK_CHARS}" in attention["reason"]
    assert len(refusals(cli)) == 1 and waiting(cli) == []
    with crm.connect() as conn:
        left = conn.execute(select(enrollments.c.pending_decision)).scalar_one()
    assert left is None
    assert nothing_sent(cli, tmp_path)


def composer_returning(draft: dict[str, Any]) -> Worker:
    """A compiled email_compose worker that hands back `draft`, whatever it was asked."""

    def write(state: WorkerState) -> dict[str, Any]:
        prov = {"confidence": 1.0, "reason": "scripted", "source": "test", "evidence": []}
        return {"draft": draft, "draft_provenance": prov, "llm_calls": []}

    graph = StateGraph(WorkerState, input_schema=WorkerInput, output_schema=WorkerOutput)
    graph.add_node("write", write)
    graph.add_edge(START, "write")
    return graph.compile()  # type: ignore[return-value]


OVERSIZED = {"subject": "Hi", "body": "x" * MAX_DRAFT_CHARS}


@pytest.mark.parametrize(
    ("draft", "why"),
    [
        pytest.param(
            OVERSIZED,
            f"it is {MAX_DRAFT_CHARS + 2} characters, over the {MAX_DRAFT_CHARS} a draft may have",
            id="oversized",
        ),
        pytest.param(
            {"body": CLEAN_BODY}, "its subject or body is missing or not text", id="no-subject"
        ),
    ],
)
def test_a_composer_handing_back_an_oversized_or_malformed_draft_fails_the_thread(
    cli: Callable[..., Run],
    campaign: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    draft: dict[str, Any],
    why: str,
) -> None:
    def orchestrator() -> Any:
        return build_email_orchestrator(composers={"compose": composer_returning(draft)})

    with monkeypatch.context() as patch:
        patch.setattr(graphs.campaign, "build_email_orchestrator", orchestrator)
        graph = build_campaign_graph()

    outcome = in_process(graph).tick(T0)

    assert (outcome["resumed"], outcome["failed"], outcome["drafted"]) == (1, 1, 0)
    [error] = outcome["errors"]
    assert error.startswith(f"{THREAD}: ") and why in error
    row = status(cli)
    assert (row["status"], row["last_report"]["status"]) == ("failed", "failed")
    assert why in row["last_report"]["summary"] and why in row["stop_reason"]
    [attention] = as_json(cli("attention", "--json"))
    assert (attention["kind"], attention["thread_id"]) == ("failed", THREAD)
    [refusal] = refusals(cli)
    assert (refusal["sender"], refusal["receiver"]) == ("orchestrator", "composer")
    assert refusal["metadata"]["refused"] == f"the draft email_compose returned: {why}"
    reports = {r["sender"]: r["metadata"]["status"] for r in audit(cli, "report")}
    assert reports == {"researcher": "success", "orchestrator": "failed"}  # composer: none
    assert waiting(cli) == [] and nothing_sent(cli, tmp_path)  # no cut draft reaches a person


# -- 4. dead escalation: the needs_attention path fires, is seen, and clears ----------------


@pytest.mark.parametrize(
    "decision",
    [
        pytest.param(["edit", "--subject", "A quick question", "--body", CLEAN_BODY], id="edit"),
        pytest.param(["reject", "--reason", "wrong angle"], id="reject"),
    ],
)
def test_a_flagged_draft_is_escalated_to_a_person_and_leaves_attention_once_decided(
    cli: Callable[..., Run],
    campaign: None,
    model: FakeOpenAI,
    decision: list[str],
) -> None:
    model.set_responder(by_kind(draft=draft_reply("A quick question", "Hi {{first_name}}")))
    ok(cli("tick", "--now", AT))

    [attention] = as_json(cli("attention", "--json"))
    assert attention == attention | {
        "kind": "needs_attention",
        "thread_id": THREAD,
        "contact_id": CONTACT,
        "at": "2026-11-02T09:00:00+00:00",
    }
    assert "flagged for a person" in attention["reason"]
    assert "{{first_name}}" in attention["reason"]
    escalated = [r for r in audit(cli, "report") if r["metadata"]["status"] == "needs_attention"]
    assert {(r["sender"], r["receiver"]) for r in escalated} == {
        ("reviewer", "orchestrator"),
        ("orchestrator", "coach"),
    }
    table = ok(cli("attention")).out
    assert "needs_attention" in table and CONTACT in table

    ok(cli("approvals", decision[0], THREAD, *decision[1:], "--now", AT))

    assert as_json(cli("attention", "--json")) == []
    assert status(cli)["last_report"]["status"] in ("success", "partial")
    [person] = audit(cli, "decision")
    assert person["metadata"]["decision"] == {"edit": "edit", "reject": "ignore"}[decision[0]]
