"""Sends survive process death: real `coachgraph` processes, a real SMTP peer on loopback.

SPEC §11: a crash after the provider accepted a message but before the checkpoint was
written never sends it again; the ambiguous outbox row is marked for a person to
reconcile. SPEC §12: a refused send is retried on a later tick, with backoff.

The crash is made without test hooks in the product: the SMTP server, on receiving the
whole message, SIGKILLs the `coachgraph approvals approve` process and only then answers
250 — so the provider has the message and the client never learns it.
"""

from __future__ import annotations

import json
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from coachgraph.mail.outbox import idempotency_key, list_outbox, outbox_row
from coachgraph.runner.campaigns import campaign_runtime
from coachgraph.runner.threads import status_rows
from coachgraph.store.audit import audit_rows
from coachgraph.store.crm import CrmStore, enrollments, outbox
from coachgraph.store.due_index import get_enrollment
from schemas.context import Context
from schemas.values import iso
from tests.integration.campaign_helpers import T0, Campaign, day, start_campaign, thread
from tests.integration.conftest import smtp_context
from tests.integration.proc_helpers import (
    ScriptedSmtpServer,
    cli_env,
    expire_lease,
    run,
    run_json,
    start,
)

pytestmark = pytest.mark.integration

CONTACT = "c02"
"""Daniel Okafor at Northwind Logistics: allowed to be emailed."""
TO = "daniel@northwind-logistics.example"
THREAD = thread("cmp1", CONTACT)
KEY = idempotency_key(THREAD, 1)
ACCEPT: dict[str, Any] = {"type": "accept", "args": None}
SECOND_TOUCH_GAP = timedelta(days=4)
"""DEFAULT_CADENCE_DAYS[1]: the gap after touch 1 when no coach plan is stored."""


@pytest.fixture
def campaign(demo_db: str, smtp: ScriptedSmtpServer) -> Campaign:
    """One contact enrolled at T0 and drafted (set up in this process, to save a start-up)."""
    context = smtp_context(demo_db, smtp)
    started = start_campaign(context, [CONTACT])
    drafted = started.tick(T0)
    assert (drafted["resumed"], drafted["drafted"]) == (1, 1), drafted
    return started


@pytest.fixture
def env(
    demo_db: str, tmp_path: Path, smtp: ScriptedSmtpServer, campaign: Campaign
) -> dict[str, str]:
    """What the `coachgraph` children run with: the test database, sending through `smtp`."""
    return cli_env(demo_db, tmp_path) | smtp.env()


def the_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert [r["thread_id"] for r in rows] == [THREAD], rows
    return rows[0]


def test_sigkill_after_the_provider_accepted_never_sends_twice(
    demo_db: str,
    tmp_path: Path,
    smtp: ScriptedSmtpServer,
    campaign: Campaign,
    env: dict[str, str],
) -> None:
    crm = CrmStore(demo_db)
    smtp.mode = "kill_client"
    approve = start("approvals", "approve", THREAD, "--now", iso(T0), env=env, cwd=tmp_path)
    smtp.victim = approve.popen
    died = approve.wait()

    assert died.code == -signal.SIGKILL, died
    assert smtp.killed == [approve.pid]
    assert len(smtp.received) == 1
    message_id = smtp.received[0].header("Message-ID")
    assert smtp.received[0].rcpt_tos == [TO]
    # The process died between handing the message over and recording the outcome.
    assert outbox_row(crm, KEY)["status"] == "sending"  # type: ignore[index]

    # The dead process's lease runs on the real clock (COACHGRAPH_LEASE_SECONDS, 10 min by
    # default) whatever --now says; expire_lease does to the row what that time would, so
    # the test need not wait. --now moves the simulated clock past it too.
    expire_lease(demo_db, THREAD)
    smtp.mode = "accept"
    recovered_at = T0 + timedelta(minutes=20)
    report = run_json("tick", "--now", iso(recovered_at), env=env, cwd=tmp_path)

    assert len(smtp.received) == 1, "the message was sent a second time"
    assert (report["resumed"], report["sent"], report["failed"]) == (1, 0, 0), (
        f"the crashed thread was not finished: tick {report}, "
        f"enrollment {get_enrollment(crm, THREAD)}, outbox row {outbox_row(crm, KEY)}"
    )
    outbox = run_json("outbox", env=env, cwd=tmp_path)
    assert [(r["idempotency_key"], r["status"], r["message_id"]) for r in outbox] == [
        (KEY, "unknown", message_id)
    ], outbox
    status = the_row(run_json("status", env=env, cwd=tmp_path))
    assert (status["status"], status["attempts"]) == ("active", 0)
    assert (status["touches_sent"], status["touches_unknown"]) == (0, 1), status
    # SPEC §10: the gap to the next touch counts from when this touch was sent — at T0,
    # when the person approved and the provider took it, not when a tick noticed the crash.
    assert status["next_due_at"] == iso(T0 + SECOND_TOUCH_GAP), status

    # Reconciled or not, the touch is never offered again: a later tick sends nothing.
    again = campaign.tick(day(1))
    assert again["resumed"] == 0 and len(smtp.received) == 1, again


def test_a_refused_send_fails_cleanly_and_the_next_tick_sends_it_once(
    demo_db: str, tmp_path: Path, smtp: ScriptedSmtpServer, env: dict[str, str]
) -> None:
    crm = CrmStore(demo_db)
    smtp.mode = "defer_rcpt"
    refused = run("approvals", "approve", THREAD, "--now", iso(T0), env=env, cwd=tmp_path)

    assert refused.code == 1, refused
    assert "Traceback" not in refused.err
    errors = [line for line in refused.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, refused.err
    assert THREAD in errors[0] and "450" in errors[0], errors
    assert smtp.received == []
    assert outbox_row(crm, KEY)["status"] == "failed"  # type: ignore[index]
    assert list_outbox(crm) == []  # neither sent nor ambiguous (what `outbox --json` lists)
    status = the_row(status_rows(crm))
    assert (status["status"], status["touches_sent"], status["attempts"]) == ("active", 0, 1)
    assert "450" in str(status["last_error"])
    retry_at = T0 + timedelta(minutes=15)  # campaigns.BACKOFF[0] after the failed attempt
    assert status["next_due_at"] == iso(retry_at), status
    # The failed run released its lease (due_index.record), so nothing needs expiring.
    assert get_enrollment(crm, THREAD)["lease_owner"] is None  # type: ignore[index]

    smtp.mode = "accept"
    report = run_json("tick", "--now", iso(retry_at), env=env, cwd=tmp_path)

    assert (report["resumed"], report["sent"], report["failed"]) == (1, 1, 0), report
    assert len(smtp.received) == 1
    assert smtp.received[0].rcpt_tos == [TO]
    outbox = run_json("outbox", env=env, cwd=tmp_path)
    assert [(r["idempotency_key"], r["status"]) for r in outbox] == [(KEY, "sent")], outbox
    assert outbox[0]["message_id"] == smtp.received[0].header("Message-ID")
    assert outbox[0]["sent_at"] == retry_at.isoformat(), outbox
    status = the_row(run_json("status", env=env, cwd=tmp_path))
    assert (status["status"], status["touches_sent"], status["attempts"]) == ("active", 1, 0)
    assert status["last_error"] is None
    assert status["next_due_at"] == iso(retry_at + SECOND_TOUCH_GAP), status


def test_a_5xx_for_the_recipient_is_a_hard_bounce_never_retried(
    demo_db: str, tmp_path: Path, smtp: ScriptedSmtpServer, env: dict[str, str]
) -> None:
    crm = CrmStore(demo_db)
    smtp.mode = "reject_rcpt"
    bounced = run("approvals", "approve", THREAD, "--now", iso(T0), env=env, cwd=tmp_path)

    assert bounced.code == 0, bounced  # the decision was applied: the server said no, for good
    assert smtp.received == []
    row = outbox_row(crm, KEY)
    assert row is not None and row["status"] == "bounced" and "550" in str(row["error"])
    status = the_row(status_rows(crm))
    assert (status["status"], status["stop_reason"], status["attempts"]) == (
        "stopped",
        "bounced",
        0,
    )
    assert status["next_due_at"] is None
    contact = crm.get_contact(status["contact_id"])
    assert contact is not None and contact["bounced"]
    assert crm.suppression_reason(TO) == "bounced"
    send = [a for a in audit_rows(crm, type="send") if a["thread_id"] == THREAD]
    assert [a["metadata"]["status"] for a in send] == ["bounced"]

    smtp.mode = "accept"  # never retried, even once the server would take it
    later = run_json("tick", "--now", iso(T0 + timedelta(days=30)), env=env, cwd=tmp_path)
    assert later["resumed"] == 0 and smtp.received == [], later


def _crash_mid_send(env: dict[str, str], tmp_path: Path, smtp: ScriptedSmtpServer) -> None:
    """Approve, have the provider take the message and SIGKILL the client, then recover."""
    smtp.mode = "kill_client"
    approve = start("approvals", "approve", THREAD, "--now", iso(T0), env=env, cwd=tmp_path)
    smtp.victim = approve.popen
    assert approve.wait().code == -signal.SIGKILL
    smtp.mode = "accept"
    expire_lease(env["COACHGRAPH_DB"], THREAD)
    report = run_json("tick", "--now", iso(T0 + timedelta(minutes=20)), env=env, cwd=tmp_path)
    row = outbox_row(CrmStore(env["COACHGRAPH_DB"]), KEY)
    status = run_json("status", env=env, cwd=tmp_path)
    assert [r["status"] for r in run_json("outbox", env=env, cwd=tmp_path)] == ["unknown"], (
        report,
        row,
        status,
    )


def test_a_person_settles_an_unknown_send_as_delivered(
    tmp_path: Path, smtp: ScriptedSmtpServer, env: dict[str, str]
) -> None:
    _crash_mid_send(env, tmp_path, smtp)

    settled = run_json("outbox", "reconcile", KEY, "--delivered", "--json", env=env, cwd=tmp_path)

    assert settled == {"idempotency_key": KEY, "status": "sent", "resent": False}
    assert len(smtp.received) == 1
    status = the_row(run_json("status", env=env, cwd=tmp_path))
    assert (status["touches_sent"], status["touches_unknown"]) == (1, 0), status
    again = run("outbox", "reconcile", KEY, "--not-delivered", env=env, cwd=tmp_path)
    assert again.code == 1 and "not unknown" in again.err, again
    assert len(smtp.received) == 1


def test_not_delivered_sends_it_once_more_under_the_same_key(
    tmp_path: Path, smtp: ScriptedSmtpServer, env: dict[str, str]
) -> None:
    _crash_mid_send(env, tmp_path, smtp)
    first_id = smtp.received[0].header("Message-ID")
    later = iso(T0 + timedelta(hours=2))

    resent = run_json(
        "outbox", "reconcile", KEY, "--not-delivered", "--now", later, "--json",
        env=env, cwd=tmp_path,
    )  # fmt: skip

    assert (resent["status"], resent["resent"]) == ("sent", True), resent
    assert len(smtp.received) == 2
    assert smtp.received[1].header("Message-ID") == first_id
    [row] = run_json("outbox", env=env, cwd=tmp_path)
    assert (row["status"], row["sent_at"]) == ("sent", later)
    again = run("outbox", "reconcile", KEY, "--not-delivered", env=env, cwd=tmp_path)
    assert again.code == 1 and len(smtp.received) == 2


def test_not_delivered_to_a_contact_who_opted_out_since_is_not_sent(
    tmp_path: Path, smtp: ScriptedSmtpServer, env: dict[str, str]
) -> None:
    _crash_mid_send(env, tmp_path, smtp)
    run("reply", "--contact", CONTACT, "--unsubscribed", env=env, cwd=tmp_path)

    settled = run_json(
        "outbox", "reconcile", KEY, "--not-delivered", "--json", env=env, cwd=tmp_path
    )

    assert (settled["status"], settled["resent"]) == ("failed", False)
    assert "unsubscribed" in settled["reason"]
    assert len(smtp.received) == 1


def test_reconcile_names_what_is_wrong(
    tmp_path: Path, smtp: ScriptedSmtpServer, env: dict[str, str]
) -> None:
    unknown = run("outbox", "reconcile", "nope:touch:1", "--delivered", env=env, cwd=tmp_path)
    assert unknown.code == 1 and "unknown outbox key" in unknown.err
    neither = run("outbox", "reconcile", KEY, env=env, cwd=tmp_path)
    assert neither.code == 1 and "--delivered or --not-delivered" in neither.err


def test_a_failed_thread_is_revived_with_its_approved_draft_and_sent_once(
    demo_db: str, tmp_path: Path, smtp: ScriptedSmtpServer, env: dict[str, str]
) -> None:
    smtp.mode = "defer_rcpt"  # a long outage: every attempt is refused
    assert run("approvals", "approve", THREAD, "--now", iso(T0), env=env, cwd=tmp_path).code == 1
    for hours in (1, 3, 8):
        run_json("tick", "--now", iso(T0 + timedelta(hours=hours)), env=env, cwd=tmp_path)
    failed = the_row(run_json("status", env=env, cwd=tmp_path))
    assert failed["status"] == "failed", failed

    smtp.mode = "accept"
    later = T0 + timedelta(days=1)
    revived = run_json("retry", THREAD, "--now", iso(later), "--json", env=env, cwd=tmp_path)
    assert revived == {"thread_id": THREAD, "status": "active"}
    report = run_json("tick", "--now", iso(later), env=env, cwd=tmp_path)

    assert (report["resumed"], report["sent"]) == (1, 1), report
    assert [m.rcpt_tos for m in smtp.received] == [[TO]]
    status = the_row(run_json("status", env=env, cwd=tmp_path))
    assert (status["status"], status["touches_sent"], status["attempts"]) == ("active", 1, 0)
    not_failed = run("retry", THREAD, env=env, cwd=tmp_path)
    assert not_failed.code == 1 and "not failed" in not_failed.err


def sending_row(item: dict[str, Any]) -> dict[str, Any]:
    """The outbox row a send cut short leaves: handed over, outcome never recorded."""
    return {
        "idempotency_key": KEY,
        "thread_id": THREAD,
        "touch": 1,
        "to_email": TO,
        "subject": item["subject"],
        "body": item["body"],
        "message_id": "<m@seller.example>",
        "status": "sending",
        "sent_at": iso(T0),
        "created_at": iso(T0),
    }


def test_a_decision_the_checkpoint_never_took_is_applied_by_the_next_tick(
    demo_db: str, smtp: ScriptedSmtpServer, campaign: Campaign
) -> None:
    """The race behind a once-flaky run, made certain: the approving process handed the
    message over and died before its checkpoint writer recorded the decision. The thread's
    checkpoint still waits on a person; the enrollment holds the decision; the outbox row
    is still `sending`. The recovering tick must apply that decision (never re-send), not
    treat the thread as merely waiting."""
    crm = CrmStore(demo_db)
    [item] = campaign.pending(T0)
    response = ACCEPT
    with crm.connect(write=True) as conn:  # what decide() and deliver() had written
        conn.execute(
            enrollments.update()
            .where(enrollments.c.thread_id == THREAD)
            .values(
                status="active",
                next_due_at=iso(T0),
                pending_decision=json.dumps(
                    {"interrupt_id": item["interrupt_id"], "response": response}
                ),
            )
        )
        conn.execute(outbox.insert().values(sending_row(item)))
    assert campaign.state(THREAD).interrupts, "the checkpoint still waits on a person"

    report = campaign.tick(T0 + timedelta(minutes=20))

    assert (report["resumed"], report["sent"]) == (1, 0), report
    assert smtp.received == []  # the message may already be out: never hand it over again
    assert [(r["idempotency_key"], r["status"]) for r in list_outbox(crm)] == [(KEY, "unknown")]
    status = the_row(status_rows(crm))
    assert (status["status"], status["touches_unknown"]) == ("active", 1), status
    assert get_enrollment(crm, THREAD)["pending_decision"] is None  # type: ignore[index]


class _Died(BaseException):
    """The process dying: nothing after it in the run happens, not even `except Exception`."""


def test_a_send_whose_step_was_never_checkpointed_is_finished_not_redrafted(
    demo_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other half of the race: the approval task saved its writes, the transport took
    the message, and the process died before the checkpoint after that step was written.
    The thread then shows no `next` and no interrupt, like a finished one. The recovering
    tick must resume it (the row becomes `unknown`), not start a fresh draft."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    from coachgraph.mail.transport import FileTransport

    context = Context(db_url=demo_db, llm_api_key=None, outbox_dir=str(tmp_path / "outbox"))
    started = start_campaign(context, [CONTACT])
    assert started.tick(T0)["drafted"] == 1
    handed_over: list[str] = []

    def send_then_die(self: FileTransport, message: Any) -> None:
        handed_over.append(str(message["Message-ID"]))
        raise _Died

    with monkeypatch.context() as dying:
        dying.setattr(FileTransport, "send", send_then_die)
        dying.setattr(SqliteSaver, "put", lambda self, config, *args, **kwargs: config)
        with pytest.raises(_Died):
            started.decide(THREAD, {"type": "accept", "args": None}, T0)
    snapshot = started.state(THREAD)
    assert (snapshot.next, snapshot.interrupts) == ((), ())  # looks finished; it is not
    expire_lease(demo_db, THREAD)

    report = started.tick(T0 + timedelta(minutes=20))

    crm = CrmStore(demo_db)
    assert (report["resumed"], report["drafted"], report["sent"]) == (1, 0, 0), report
    assert [(r["idempotency_key"], r["status"]) for r in list_outbox(crm)] == [(KEY, "unknown")]
    assert len(handed_over) == 1 and started.pending(T0) == []


def test_a_decision_whose_approval_step_was_scheduled_afresh_is_applied_not_asked_again(
    demo_db: str, smtp: ScriptedSmtpServer, campaign: Campaign
) -> None:
    """The third shape the race leaves: the dying approver's run saved a fresh checkpoint
    (the approval step scheduled again, under a new task id, so no interrupt is listed)
    but not its answer. Resumed with nothing, the step would ask the person again and the
    `sending` row would sit there; the recorded decision for that touch is applied instead."""
    crm = CrmStore(demo_db)
    [item] = campaign.pending(T0)
    recorded = {"interrupt_id": item["interrupt_id"], "touch": 1, "response": ACCEPT}
    with crm.connect(write=True) as conn:  # what decide() and deliver() had written
        conn.execute(
            enrollments.update()
            .where(enrollments.c.thread_id == THREAD)
            .values(status="active", next_due_at=iso(T0), pending_decision=json.dumps(recorded))
        )
        conn.execute(outbox.insert().values(sending_row(item)))
    with campaign_runtime(campaign.context) as rt:  # the fresh checkpoint, without the answer
        rt.app.update_state(rt.config(THREAD), None)
    snapshot = campaign.state(THREAD)
    assert snapshot.next == ("await_approval",) and snapshot.interrupts == ()

    report = campaign.tick(T0 + timedelta(minutes=20))

    assert (report["resumed"], report["drafted"], report["sent"]) == (1, 0, 0), report
    assert smtp.received == []  # the message may already be out: never hand it over again
    assert [(r["idempotency_key"], r["status"]) for r in list_outbox(crm)] == [(KEY, "unknown")]
    assert campaign.pending(T0) == []
