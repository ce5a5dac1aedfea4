"""Supervision end to end (SPEC §12, §16): release, pause, holds, recovery and the audit trail.

Each test runs the real campaign graph and the real `coachgraph` commands over a SQLite
file and then a throwaway Postgres database, and asserts what was persisted: enrollment
rows, outbox rows, audit rows and checkpoints, besides the commands' JSON and exit codes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest
from pydantic import SecretStr

from coachgraph.mail.message import OutgoingEmail
from coachgraph.mail.outbox import deliver, idempotency_key
from coachgraph.runner.supervision import release
from coachgraph.runner.threads import status_rows
from coachgraph.store.audit import audit_rows
from coachgraph.store.crm import CrmStore, outbox, retention_watch
from schemas.approval import HumanResponse
from schemas.context import Context
from schemas.supervision import AuditEvent, audit_event
from schemas.values import iso
from tests.integration.campaign_helpers import T0, Campaign, day, start_campaign, thread
from tests.integration.conftest import Run, one_line_error
from tests.integration.fake_openai import FAKE_API_KEY, FakeOpenAI, Reply, by_kind
from tests.integration.smtp_server import SmtpServer
from tests.integration.supervision_helpers import (
    GATE_TIMEOUT_S,
    HeldDraft,
    NumberedDrafts,
    all_audit_text,
    as_json,
    audit_count,
    draft_reply,
    enrollment,
    outbox_rows,
    snapshot,
)

pytestmark = pytest.mark.integration

Cli = Callable[..., Run]
ACCEPT = HumanResponse(type="accept", args=None)
C02, C03, C04, C05 = (thread("cmp1", c) for c in ("c02", "c03", "c04", "c05"))
DANIEL = "daniel@northwind-logistics.example"
NORTHWIND = "northwind-logistics.example"
RELEASE_FIELDS = ("thread_id", "exit", "cancelled_approvals", "withdrawn_sends")

R = TypeVar("R")


class Background(Generic[R]):
    """Run a call in a thread; `result()` joins it and returns its value or raises its error."""

    def __init__(self, call: Callable[[], R]) -> None:
        self._call = call
        self._value: R | None = None
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to the test thread by result()
            self._error = exc

    def result(self, timeout: float = 60.0) -> R:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"still running after {timeout} s"
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def statuses(crm: CrmStore, *thread_ids: str) -> list[str]:
    return [enrollment(crm, t)["status"] for t in thread_ids]


def release_fields(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: r[k] for k in RELEASE_FIELDS} for r in rows]


def status_of(cli: Cli, thread_id: str) -> dict[str, Any]:
    [row] = [r for r in as_json(cli("status", "--json")) if r["thread_id"] == thread_id]
    return dict(row)


# -- 1. release -----------------------------------------------------------------------------


def add_scheduled_send(crm: CrmStore, thread_id: str, touch: int) -> str:
    """An approved touch waiting for its send window (written directly: a later feature)."""
    key = idempotency_key(thread_id, touch)
    with crm.connect(write=True) as conn:
        conn.execute(
            outbox.insert().values(
                idempotency_key=key,
                thread_id=thread_id,
                touch=touch,
                to_email="tom.becker@northwind-logistics.example",
                subject="A second note",
                body="Hi Tom",
                message_id=f"<{touch}-scheduled@seller.example>",
                status="scheduled",
                sent_at=None,
                created_at=iso(day(0)),
            )
        )
    return key


@pytest.fixture
def mixed(context: Context) -> Campaign:
    """cmp1: c02 awaits approval, c03 stopped (do not contact), c04 idle with a scheduled send."""
    campaign = start_campaign(context, ["c02", "c03", "c04"])
    ticked = campaign.tick(day(0))
    assert (ticked["drafted"], ticked["stopped"]) == (2, 1), ticked
    campaign.decide(C04, ACCEPT, day(0))
    crm = CrmStore(context.db_url)
    add_scheduled_send(crm, C04, 2)
    assert statuses(crm, C02, C03, C04) == ["awaiting_approval", "stopped", "active"]
    return campaign


def test_release_ends_every_live_thread_and_says_how_each_exited(cli: Cli, mixed: Campaign) -> None:
    crm = CrmStore(mixed.context.db_url)
    stopped_before = enrollment(crm, C03)

    rows = as_json(cli("release", "--campaign", "cmp1", "--now", iso(day(1)), "--json"))

    assert release_fields(rows) == [
        {"thread_id": C02, "exit": "interrupted", "cancelled_approvals": 1, "withdrawn_sends": 0},
        {"thread_id": C03, "exit": "clean", "cancelled_approvals": 0, "withdrawn_sends": 0},
        {"thread_id": C04, "exit": "clean", "cancelled_approvals": 0, "withdrawn_sends": 1},
    ]
    assert rows[1]["status"] == "stopped"  # ended before: left as it ended
    assert enrollment(crm, C03) == stopped_before
    for released in (C02, C04):
        row = enrollment(crm, released)
        assert (row["status"], row["next_due_at"], row["lease_owner"]) == ("released", None, None)
        assert status_of(cli, released)["last_report"]["status"] == "partial"
    assert [(r["touch"], r["status"]) for r in outbox_rows(crm) if r["thread_id"] == C04] == [
        (1, "sent"),
        (2, "withdrawn"),
    ]
    audit = as_json(cli("audit", "--type", "release", "--json"))
    assert [
        (a["thread_id"], a["metadata"]["exit"], a["metadata"]["withdrawn_sends"]) for a in audit
    ] == [(C02, "interrupted", 0), (C04, "clean", 1)]
    assert as_json(cli("approvals", "list", "--json")) == []


def test_a_released_thread_never_resumes_and_release_is_idempotent(
    cli: Cli, mixed: Campaign
) -> None:
    crm = CrmStore(mixed.context.db_url)
    assert cli("release", "--campaign", "cmp1", "--json").code == 0
    before = snapshot(crm)
    touches_before = mixed.state(C02).values.get("touches", [])

    line = one_line_error(cli("approvals", "approve", C02, "--now", iso(day(1))))
    ticked = as_json(cli("tick", "--now", iso(day(400)), "--json"))
    again = as_json(cli("release", "--campaign", "cmp1", "--json"))

    assert "released" in line
    assert ticked["resumed"] == 0
    assert release_fields(again) == [
        {"thread_id": t, "exit": "clean", "cancelled_approvals": 0, "withdrawn_sends": 0}
        for t in (C02, C03, C04)
    ]
    assert [r["status"] for r in again] == ["released", "stopped", "released"]
    assert snapshot(crm) == before  # no send, no resume, no new audit row
    assert mixed.state(C02).values.get("touches", []) == touches_before


def test_release_of_one_contact_leaves_the_others_running(cli: Cli, mixed: Campaign) -> None:
    crm = CrmStore(mixed.context.db_url)

    rows = as_json(cli("release", "--campaign", "cmp1", "--contact", "c04", "--json"))

    assert release_fields(rows) == [
        {"thread_id": C04, "exit": "clean", "cancelled_approvals": 0, "withdrawn_sends": 1}
    ]
    assert statuses(crm, C02, C03, C04) == ["awaiting_approval", "stopped", "released"]
    assert [a["thread_id"] for a in as_json(cli("audit", "--type", "release", "--json"))] == [C04]
    assert [p["thread_id"] for p in as_json(cli("approvals", "list", "--json"))] == [C02]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--campaign", "nope"], "error: unknown campaign id 'nope'"),
        (["--campaign", "cmp1", "--contact", "zz"], "error: unknown contact id 'zz'"),
        (["--campaign", "cmp1", "--contact", "c05"], "error: contact 'c05' is not enrolled"),
    ],
    ids=["unknown-campaign", "unknown-contact", "not-enrolled"],
)
def test_release_refuses_bad_input_and_changes_nothing(
    cli: Cli, mixed: Campaign, args: list[str], message: str
) -> None:
    crm = CrmStore(mixed.context.db_url)
    before = snapshot(crm)

    run = cli("release", *args, "--json")

    assert one_line_error(run).startswith(message)
    assert run.out == ""
    assert snapshot(crm) == before


# -- 2. a run in flight ---------------------------------------------------------------------


def test_a_run_in_flight_stops_at_its_next_node_boundary(
    cli: Cli, context: Context, fake_llm: FakeOpenAI
) -> None:
    gate = HeldDraft(draft_reply("A note for Daniel"))
    fake_llm.set_responder(gate)
    model_context = context.replace(
        llm_api_key=SecretStr(FAKE_API_KEY),
        llm_base_url=fake_llm.base_url,
        llm_timeout_s=GATE_TIMEOUT_S + 10,
        llm_max_attempts=1,
    )
    campaign = start_campaign(model_context, ["c02"])
    crm = CrmStore(context.db_url)

    ticking = Background(lambda: campaign.tick(day(0)))
    try:
        assert gate.arrived.wait(GATE_TIMEOUT_S), "the tick never asked for its draft"
        rows = as_json(cli("release", "--campaign", "cmp1", "--json"))
    finally:
        gate.gate.set()  # the model answers only now, after the release returned
    ticked = ticking.result()

    assert release_fields(rows) == [
        {"thread_id": C02, "exit": "interrupted", "cancelled_approvals": 0, "withdrawn_sends": 0}
    ]
    assert (ticked["drafted"], ticked["sent"]) == (0, 0), ticked
    assert not campaign.state(C02).interrupts  # it never reached await_approval
    assert outbox_rows(crm) == []
    row = enrollment(crm, C02)
    assert (row["status"], row["lease_owner"], row["next_due_at"]) == ("released", None, None)
    assert as_json(cli("approvals", "list", "--json")) == []
    assert as_json(cli("tick", "--now", iso(day(30)), "--json"))["resumed"] == 0
    assert fake_llm.count_of("draft") == 1


# -- 3. a send in progress ------------------------------------------------------------------


class BlockingTransport:
    """A transport whose `send` blocks until the test lets it finish."""

    name = "blocking"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.proceed = threading.Event()
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.entered.set()
        assert self.proceed.wait(GATE_TIMEOUT_S), "the test never let the send finish"
        self.sent.append(message)


def touch_email(touch: int, when: datetime) -> tuple[OutgoingEmail, AuditEvent]:
    """Touch `touch` of C02 and its send audit event, as the sender node makes them."""
    key = idempotency_key(C02, touch)
    email = OutgoingEmail(
        idempotency_key=key,
        to=DANIEL,
        sender_name="Sam Rivera",
        sender_email="sam@seller.example",
        subject=f"Touch {touch} for Daniel",
        body="Hi Daniel,\n\nA short note.\n\nSam",
        sent_at=when,
    )
    event = audit_event(
        "send",
        "sender",
        "contact",
        f"touch {touch} to {DANIEL}",
        iso(when),
        thread_id=C02,
        campaign_id="cmp1",
        touch=touch,
        subject=email.subject,
        idempotency_key=key,
    )
    return email, event


def test_release_waits_for_a_send_in_progress_and_later_sends_are_withdrawn(
    context: Context,
) -> None:
    start_campaign(context, ["c02"])
    crm = CrmStore(context.db_url)
    transport = BlockingTransport()
    first, first_audit = touch_email(1, day(0))

    sending = Background(lambda: deliver(crm, transport, first, C02, 1, first_audit))
    assert transport.entered.wait(GATE_TIMEOUT_S), "the send never started"
    releasing = Background(lambda: release(crm, "cmp1", None, day(0)))
    try:
        releasing.thread.join(0.5)
        assert releasing.thread.is_alive(), "release returned while a send was in progress"
    finally:
        transport.proceed.set()
    delivery = sending.result()
    [released] = releasing.result()

    assert (delivery.outcome, released["status"]) == ("sent", "released")
    [row] = outbox_rows(crm)
    assert (row["idempotency_key"], row["status"]) == (first.idempotency_key, "sent")
    [send] = audit_rows(crm, "send")
    assert (send["metadata"]["idempotency_key"], send["metadata"]["status"]) == (
        first.idempotency_key,
        "sent",
    )

    later = BlockingTransport()
    later.proceed.set()
    second, second_audit = touch_email(2, day(4))
    withdrawn = deliver(crm, later, second, C02, 2, second_audit)

    assert withdrawn.outcome == "withdrawn"
    assert later.sent == [] and len(transport.sent) == 1
    assert [(r["touch"], r["status"]) for r in outbox_rows(crm)] == [(1, "sent"), (2, "withdrawn")]
    assert enrollment(crm, C02)["status"] == "released"


# -- 4. pause and resume --------------------------------------------------------------------


@pytest.fixture
def two_campaigns(context: Context) -> tuple[Campaign, Campaign]:
    """cmp1: c02 waiting for approval, c05 idle with touch 2 due on day 4; cmp2: c04 idle too."""
    first = start_campaign(context, ["c02", "c05"])
    second = start_campaign(context, ["c04"], campaign_id="cmp2")
    assert first.tick(day(0))["drafted"] == 3  # a tick covers both campaigns
    first.decide(C05, ACCEPT, day(0))
    second.decide(thread("cmp2", "c04"), ACCEPT, day(0))
    return first, second


def test_a_paused_campaign_is_not_ticked_until_it_is_resumed(
    cli: Cli, two_campaigns: tuple[Campaign, Campaign]
) -> None:
    crm = CrmStore(two_campaigns[0].context.db_url)
    other = thread("cmp2", "c04")
    assert as_json(cli("campaign", "pause", "cmp1", "--now", iso(day(1)), "--json")) == {
        "campaign_id": "cmp1",
        "status": "paused",
        "changed": True,
    }
    idle_before = enrollment(crm, C05)

    ticked = as_json(cli("tick", "--now", iso(day(4)), "--json"))
    shown = {r["thread_id"]: r["status"] for r in as_json(cli("status", "--json"))}
    refused = one_line_error(cli("approvals", "approve", C02, "--now", iso(day(4))))

    assert (ticked["resumed"], ticked["drafted"]) == (1, 1), ticked  # only cmp2's thread
    assert enrollment(crm, other)["status"] == "awaiting_approval"
    assert enrollment(crm, C05) == idle_before
    assert shown == {C02: "paused", C05: "paused", other: "awaiting_approval"}
    assert "paused" in refused
    assert [r["thread_id"] for r in outbox_rows(crm)] == [C05, other]  # touch 1 of each only

    assert as_json(cli("campaign", "resume", "cmp1", "--json"))["status"] == "active"
    resumed = as_json(cli("tick", "--now", iso(day(4)), "--json"))

    assert (resumed["resumed"], resumed["drafted"]) == (1, 1), resumed
    assert statuses(crm, C02, C05) == ["awaiting_approval", "awaiting_approval"]
    assert as_json(cli("approvals", "approve", C02, "--now", iso(day(4)), "--json"))["sent"] == 1
    decisions = as_json(cli("audit", "--campaign", "cmp1", "--type", "decision", "--json"))
    assert [d["content"] for d in decisions if d["thread_id"] is None] == [
        "campaign cmp1 paused",
        "campaign cmp1 resumed",
    ]


def test_pausing_twice_is_fine_and_an_unknown_campaign_is_refused(
    cli: Cli, two_campaigns: tuple[Campaign, Campaign]
) -> None:
    crm = CrmStore(two_campaigns[0].context.db_url)
    assert cli("campaign", "pause", "cmp1").code == 0
    before = snapshot(crm)

    again = cli("campaign", "pause", "cmp1")
    unknown_pause = cli("campaign", "pause", "nope")
    unknown_resume = cli("campaign", "resume", "nope")

    assert again.code == 0 and "already" in again.out
    assert one_line_error(unknown_pause) == "error: unknown campaign id 'nope'"
    assert one_line_error(unknown_resume) == "error: unknown campaign id 'nope'"
    assert snapshot(crm) == before


# -- 5. held, not stopped -------------------------------------------------------------------

COACH_PLAN = (
    '{"angle": "Fast dispatch follow-up", "tone": "warm", "cadence_days": [2, 4],'
    ' "max_touches": 2, "stop_criteria": "Stop when they reply."}'
)
"""The first touch is due two days after enrolment, so a hold can end before it is due."""


@pytest.fixture
def held(cli: Cli, context: Context, fake_llm: FakeOpenAI, tmp_path: Path) -> CrmStore:
    """c02 of cmp1 held at T0: Northwind is on the retention watch list (imported)."""
    fake_llm.set_responder(by_kind(other=Reply(COACH_PLAN), draft=draft_reply("Hello Daniel")))
    watch = tmp_path / "retention.csv"
    watch.write_text(f"company_domain,reason\n{NORTHWIND},Renewal talks under way\n")
    assert cli("import", "retention", str(watch)).code == 0
    start_campaign(context, ["c02"])
    env = {"LLM_API_KEY": FAKE_API_KEY, "LLM_BASE_URL": fake_llm.base_url}
    ticked = as_json(cli("tick", "--now", iso(T0), "--json", CAMPAIGN_COACH_ENABLED="true", **env))
    assert (ticked["held"], ticked["drafted"], ticked["stopped"]) == (1, 0, 0), ticked
    return CrmStore(context.db_url)


def test_a_contact_on_the_retention_list_is_held_not_stopped(
    cli: Cli, held: CrmStore, fake_llm: FakeOpenAI
) -> None:
    row = status_of(cli, C02)

    assert row["status"] == "held"
    assert "retention" in row["stop_reason"] and "Renewal talks under way" in row["stop_reason"]
    assert row["last_report"]["status"] == "partial"
    assert fake_llm.count_of("draft") == 0 and fake_llm.count == 1  # only the coach's plan
    assert as_json(cli("approvals", "list", "--json")) == []
    assert outbox_rows(held) == []
    [hold] = as_json(cli("audit", "--type", "hold", "--thread", C02, "--json"))
    assert (hold["sender"], hold["receiver"]) == ("retention", "coach")
    assert hold["metadata"]["reason"] == "Renewal talks under way"
    assert as_json(cli("tick", "--now", iso(day(30)), "--json"))["resumed"] == 0  # still held
    assert fake_llm.count_of("draft") == 0


def lift_by_remove(cli: Cli, when: datetime, tmp_path: Path) -> None:
    assert cli("retention", "remove", NORTHWIND, "--now", iso(when)).code == 0


def lift_by_replace(cli: Cli, when: datetime, tmp_path: Path) -> None:
    watch = tmp_path / "retention-now.csv"
    watch.write_text("company_domain,reason\nstonebridge-construction.example,Renewal at risk\n")
    assert cli("import", "retention", str(watch), "--replace", COACHGRAPH_NOW=iso(when)).code == 0


@pytest.mark.parametrize(
    ("lift", "lifted_on", "due_on"),
    [(lift_by_remove, 1, 2), (lift_by_replace, 5, 5)],
    ids=["shorter-than-the-gap-keeps-the-due-time", "longer-than-the-gap-is-due-at-once"],
)
def test_a_hold_ends_when_the_company_leaves_the_list_with_the_schedule_recomputed(
    cli: Cli,
    held: CrmStore,
    fake_llm: FakeOpenAI,
    tmp_path: Path,
    lift: Callable[[Cli, datetime, Path], None],
    lifted_on: int,
    due_on: int,
) -> None:
    lift(cli, day(lifted_on), tmp_path)
    assert enrollment(held, C02)["status"] == "active"

    first = as_json(cli("tick", "--now", iso(day(lifted_on)), "--json"))
    if due_on > lifted_on:  # not due yet: the original due time stands
        assert (first["resumed"], first["drafted"]) == (1, 0), first
        assert status_of(cli, C02)["next_due_at"] == iso(day(due_on))
        assert fake_llm.count_of("draft") == 0
        first = as_json(cli("tick", "--now", iso(day(due_on)), "--json"))

    assert first["drafted"] == 1, first
    [pending] = as_json(cli("approvals", "list", "--json"))
    assert (pending["thread_id"], pending["touch"], pending["subject"]) == (C02, 1, "Hello Daniel")
    assert fake_llm.count_of("draft") == 1 and fake_llm.count_of("other") == 1  # never re-planned
    lifted = as_json(cli("audit", "--type", "hold", "--thread", C02, "--json"))
    assert [h["metadata"].get("lifted", False) for h in lifted] == [False, True]


# -- 6. recovery that reports ---------------------------------------------------------------


@pytest.fixture
def smtp_down(cli: Cli, context: Context) -> Iterator[dict[str, str]]:
    """c02's first draft waits at T0; SMTP settings point at a server that refuses mail."""
    start_campaign(context, ["c02"])
    assert as_json(cli("tick", "--now", iso(T0), "--json"))["drafted"] == 1
    with SmtpServer(refuse="data") as server:
        yield {
            "COACHGRAPH_TRANSPORT": "smtp",
            "SMTP_HOST": server.host,
            "SMTP_PORT": str(server.port),
            "SMTP_STARTTLS": "false",
        }


def at(minutes: int) -> str:
    return iso(T0 + timedelta(minutes=minutes))


def test_a_send_that_keeps_failing_is_retried_then_fails_and_reports(
    cli: Cli, context: Context, smtp_down: dict[str, str]
) -> None:
    crm = CrmStore(context.db_url)
    subject = as_json(cli("approvals", "list", "--json"))[0]["subject"]

    refused = one_line_error(cli("approvals", "approve", C02, "--now", at(0), **smtp_down))
    assert "the next tick retries it" in refused
    assert (status_of(cli, C02)["attempts"], enrollment(crm, C02)["next_due_at"]) == (1, at(15))
    assert as_json(cli("tick", "--now", at(10), "--json"))["resumed"] == 0  # backing off
    second = as_json(cli("tick", "--now", at(15), "--json"))
    assert (second["failed"], status_of(cli, C02)["attempts"]) == (1, 2)
    assert enrollment(crm, C02)["next_due_at"] == at(75)
    third = as_json(cli("tick", "--now", at(75), "--json"))
    assert third["failed"] == 1

    row = status_of(cli, C02)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert row["last_report"]["status"] == "failed" and "554" in row["last_report"]["summary"]
    assert row["last_report"]["at"] == at(75)
    [attention] = as_json(cli("attention", "--json"))
    assert (attention["kind"], attention["thread_id"], attention["contact_id"]) == (
        "failed",
        C02,
        "c02",
    )
    retries = as_json(cli("audit", "--type", "retry", "--thread", C02, "--json"))
    assert [r["metadata"]["attempt"] for r in retries] == [1, 2]
    reports = as_json(cli("audit", "--type", "report", "--thread", C02, "--json"))
    assert reports[-1]["metadata"]["status"] == "failed"
    assert as_json(cli("tick", "--now", iso(day(30)), "--json"))["resumed"] == 0
    assert {r["status"] for r in outbox_rows(crm)} == {"failed"}

    assert cli("retry", C02, "--now", at(80)).code == 0
    assert (status_of(cli, C02)["status"], status_of(cli, C02)["attempts"]) == ("active", 0)
    [revived] = [
        d
        for d in as_json(cli("audit", "--type", "decision", "--thread", C02, "--json"))
        if d["metadata"].get("decision") == "retry"
    ]
    assert revived["at"] == at(80)
    assert as_json(cli("attention", "--json")) == []
    with SmtpServer() as working:
        sent = as_json(cli("tick", "--now", at(80), "--json", SMTP_PORT=str(working.port)))
        assert sent["sent"] == 1, sent
        assert len(working.received) == 1
    [row_sent] = outbox_rows(crm)
    assert (row_sent["status"], row_sent["subject"]) == ("sent", subject)  # the draft intact


@pytest.fixture
def two_due(context: Context) -> CrmStore:
    """c02 waits for approval and c04's touch 2 falls due on day 4, neither charged yet."""
    campaign = start_campaign(context, ["c02", "c04"])
    campaign.tick(day(0))
    campaign.decide(C04, ACCEPT, day(0))
    return CrmStore(context.db_url)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"COACHGRAPH_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_USER": "sam"},
            "error: SMTP_USER and SMTP_PASSWORD go together",
        ),
        (
            {"COACHGRAPH_TRANSPORT": "smtp", "SMTP_PASSWORD": "pw-only"},
            "error: COACHGRAPH_TRANSPORT=smtp needs SMTP_HOST",
        ),
        ({"LLM_BASE_URL": "ftp://models.example/v1"}, "error: invalid setting LLM_BASE_URL"),
    ],
    ids=["half-a-login", "no-host", "bad-url"],
)
def test_a_configuration_error_stops_the_tick_and_burns_no_budget(
    cli: Cli, two_due: CrmStore, settings: dict[str, str], message: str
) -> None:
    before = snapshot(two_due)

    run = cli("tick", "--now", iso(day(4)), "--json", **settings)

    assert one_line_error(run).startswith(message)
    assert run.out == ""
    assert snapshot(two_due) == before  # attempts, leases and due times untouched
    assert [enrollment(two_due, t)["attempts"] for t in (C02, C04)] == [0, 0]


def test_a_missing_table_stops_the_tick_and_burns_no_budget(cli: Cli, two_due: CrmStore) -> None:
    with two_due.connect(write=True) as conn:
        retention_watch.drop(conn)
    before = {t: enrollment(two_due, t) for t in (C02, C04)}
    audited = audit_count(two_due)

    line = one_line_error(cli("tick", "--now", iso(day(4)), "--json"))

    assert "missing tables: retention_watch" in line and "coachgraph init" in line
    assert {t: enrollment(two_due, t) for t in (C02, C04)} == before
    assert audit_count(two_due) == audited


# -- 7. the audit log tells the whole story -------------------------------------------------

SECRETS = {
    "LLM_API_KEY": "sk-marker-llm-Q7x2-never-log",
    "SMTP_PASSWORD": "pw-marker-smtp-K4v9-never-log",
    "COACHGRAPH_SECRET_KEY": "hmac-marker-Z3p8-never-log",
}
EDIT_SUBJECT = "Dispatch follow-ups, edited"
EDIT_BODY = "Hi Daniel,\n\nWould a short call on dispatch follow-ups help?\n\nSam"
TOUCH_CONTENT = re.compile(r"^touch (\d+): ")


def run_every_touch(cli: Cli) -> None:
    """Tick c02 whenever it is due; accept each draft, but edit touch 2 and reject touch 3."""
    when = iso(T0)
    for touch in range(1, 7):
        assert as_json(cli("tick", "--now", when, "--json"))["drafted"] == 1, touch
        decision: tuple[str, ...]
        if touch == 2:
            decision = ("edit", C02, "--subject", EDIT_SUBJECT, "--body", EDIT_BODY)
        elif touch == 3:
            decision = ("reject", C02, "--reason", "too soon after the last one")
        else:
            decision = ("approve", C02)
        assert cli("approvals", *decision, "--now", when, "--json").code == 0, touch
        when = status_of(cli, C02)["next_due_at"]
    assert status_of(cli, C02)["status"] == "completed"


def story(rows: list[dict[str, Any]]) -> list[tuple[int, str, str | None]]:
    """(touch, decision, subject sent) per touch, read from the audit rows alone."""
    touches: dict[int, dict[str, Any]] = {}
    for row in rows:
        link = (row["type"], row["sender"], row["receiver"])
        if link == ("delegation", "coach", "orchestrator"):
            number = TOUCH_CONTENT.match(row["content"])
            assert number, row
            touches.setdefault(int(number.group(1)), {})["delegated"] = True
        elif link == ("report", "orchestrator", "coach"):
            assert touches[row["metadata"]["touch"]]["delegated"], row
            touches[row["metadata"]["touch"]]["reported"] = row["metadata"]["status"]
        elif link == ("decision", "person", "coach"):
            assert touches[row["metadata"]["touch"]]["reported"] == "success", row
            touches[row["metadata"]["touch"]]["decision"] = row["metadata"]["decision"]
        elif row["type"] == "send":
            touches[row["metadata"]["touch"]]["send"] = row["metadata"]
    return [
        (n, t["decision"], t["send"]["subject"] if "send" in t else None)
        for n, t in sorted(touches.items())
    ]


def test_the_audit_log_alone_tells_the_whole_sequence_and_holds_no_secret(
    cli: Cli, context: Context, fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_llm.set_responder(NumberedDrafts())
    start_campaign(context, ["c02"])
    with SmtpServer(login=("sam", SECRETS["SMTP_PASSWORD"])) as smtp:
        settings = {
            "LLM_BASE_URL": fake_llm.base_url,
            "COACHGRAPH_TRANSPORT": "smtp",
            "SMTP_HOST": smtp.host,
            "SMTP_PORT": str(smtp.port),
            "SMTP_STARTTLS": "false",
            "SMTP_USER": "sam",
        }
        for name, value in (settings | SECRETS).items():
            monkeypatch.setenv(name, value)
        run_every_touch(cli)
        assert len(smtp.received) == 5
    crm = CrmStore(context.db_url)

    rows = as_json(cli("audit", "--thread", C02, "--json"))

    sent = {r["touch"]: r for r in outbox_rows(crm)}
    touches = as_state(context).values["touches"]
    decided = {True: "edit", False: "accept"}
    expected = [
        (
            t["touch"],
            "ignore" if t["outcome"] == "skipped" else decided[t["edited"]],
            sent[t["touch"]]["subject"] if t["touch"] in sent else None,
        )
        for t in touches
    ]
    assert story(rows) == expected
    assert [(n, d) for n, d, _ in expected] == [
        (1, "accept"),
        (2, "edit"),
        (3, "ignore"),
        (4, "accept"),
        (5, "accept"),
        (6, "accept"),
    ]
    assert expected[1][2] == EDIT_SUBJECT and expected[2][2] is None
    for send in (r["metadata"] for r in rows if r["type"] == "send"):
        row = sent[send["touch"]]
        assert (send["idempotency_key"], send["subject"], send["message_id"], send["status"]) == (
            row["idempotency_key"],
            row["subject"],
            row["message_id"],
            row["status"],
        )
    assert {r["status"] for r in sent.values()} == {"sent"} and 3 not in sent
    text = all_audit_text(crm)
    for name, secret in SECRETS.items():
        assert secret not in text, f"{name} reached the audit log"
    assert audit_count(crm) >= len(rows) > 0


def as_state(context: Context) -> Any:
    return Campaign(context=context, campaign_id="cmp1").state(C02)


def test_enrolling_is_a_hand_off_from_person_to_coach_checked_and_audited(
    cli: Cli, context: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = CrmStore(context.db_url)
    cli(
        "campaign",
        "create",
        "--name",
        "Q",
        "--offer",
        "a call",
        "--sender-name",
        "Sam",
        "--sender-email",
        "sam@seller.example",
        "--id",
        "q",
    )
    no_coach = tmp_path / "seats.toml"
    no_coach.write_text(
        '[seat.person]\nowner = "ops"\ndelegates_to = []\n[seat.coach]\nowner = "ops"\n'
    )
    monkeypatch.setenv("COACHGRAPH_SEATS", str(no_coach))

    refused = cli("campaign", "enroll", "q", "--contact", "c02")

    assert refused.code == 1 and "person may not delegate to coach" in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    assert status_rows(crm, "q") == []
    monkeypatch.delenv("COACHGRAPH_SEATS")
    assert cli("campaign", "enroll", "q", "--contact", "c02").code == 0
    assert cli("campaign", "enroll", "q", "--contact", "c02").code == 0  # a no-op: not audited
    rows = as_json(cli("audit", "--campaign", "q", "--type", "delegation", "--json"))
    assert [(r["sender"], r["receiver"], bool(r["metadata"]["refused"])) for r in rows] == [
        ("person", "coach", True),
        ("person", "coach", False),
    ]
