"""The campaign graph over real databases: cadence, stops, approvals, sends, idempotent ticks."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

import pytest

from coachgraph.demo.run import load_demo_crm
from coachgraph.mail.outbox import list_outbox
from coachgraph.runner.campaigns import enroll
from coachgraph.runner.threads import record_inbound, status_rows
from coachgraph.store.crm import CrmStore
from schemas.approval import HumanResponse
from schemas.context import Context
from schemas.errors import NotFoundError, UserError
from tests.integration.campaign_helpers import T0, Campaign, day, start_campaign, thread

pytestmark = pytest.mark.integration

ACCEPT = HumanResponse(type="accept", args=None)
C02 = thread("cmp1", "c02")


@pytest.fixture
def context(any_db: str, tmp_path: Path) -> Context:
    """The demo CRM in a fresh SQLite file, then in a throwaway Postgres database."""
    load_demo_crm(any_db)
    return Context(db_url=any_db, outbox_dir=str(tmp_path / "outbox"), llm_api_key=None)


def run_days(campaign: Campaign, days: range) -> list[dict[str, Any]]:
    """Tick each day at 09:00 and approve whatever is waiting; return the tick reports."""
    reports = []
    for n in days:
        reports.append(campaign.tick(day(n)))
        campaign.approve_all(day(n))
    return reports


def sent_days(crm: CrmStore, to: str) -> list[int]:
    return [
        (parse(r["sent_at"]) - T0).days
        for r in list_outbox(crm)
        if r["to"] == to and r["status"] == "sent"
    ]


def parse(text: str) -> Any:
    from schemas.values import parse_instant

    return parse_instant(text)


def test_full_sequence_follows_the_default_cadence_then_completes(context: Context) -> None:
    campaign = start_campaign(context, ["c02"])
    run_days(campaign, range(0, 40))
    crm = CrmStore(context.db_url)
    assert sent_days(crm, "daniel@northwind-logistics.example") == [0, 4, 11, 18, 25, 32]
    [row] = status_rows(crm, "cmp1")
    assert row["status"] == "completed" and row["touches_sent"] == 6
    assert row["plan"] == {
        "source": "default",
        "cadence_days": [0, 4, 7, 7, 7, 7],
        "max_touches": 6,
        "tone": None,
        "angle": None,
    }
    assert campaign.tick(day(60))["resumed"] == 0


def test_nothing_is_sent_before_its_day(context: Context) -> None:
    campaign = start_campaign(context, ["c02"])
    run_days(campaign, range(0, 1))
    for n in (1, 2, 3):  # touch 2 is due on day 4
        assert campaign.tick(day(n))["drafted"] == 0
        assert campaign.pending(day(n)) == []
    assert campaign.tick(day(3.99))["drafted"] == 0
    assert campaign.tick(day(4))["drafted"] == 1


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("reply", "replied"), ("bounce", "bounced"), ("unsubscribe", "unsubscribed")],
)
def test_inbound_between_touches_stops_the_thread_at_the_next_tick(
    context: Context, kind: str, reason: str
) -> None:
    campaign = start_campaign(context, ["c02"])
    run_days(campaign, range(0, 2))
    crm = CrmStore(context.db_url)
    record_inbound(crm, "c02", kind=kind, body="Thanks, not now.", now=day(2))
    report = campaign.tick(day(4))
    assert report["stopped"] == 1 and report["drafted"] == 0
    [row] = status_rows(crm, "cmp1")
    assert (row["status"], row["stop_reason"], row["touches_sent"]) == ("stopped", reason, 1)
    assert len(list_outbox(crm)) == 1


def test_reply_while_a_draft_waits_stops_it_at_approval(context: Context) -> None:
    campaign = start_campaign(context, ["c02"])
    campaign.tick(day(0))
    record_inbound(CrmStore(context.db_url), "c02", kind="reply", body="Call me", now=day(0.5))
    result = campaign.decide(C02, ACCEPT, day(1))
    assert result["outcome"] == "stopped"
    assert list_outbox(CrmStore(context.db_url)) == []


def test_a_tick_twice_at_the_same_instant_does_nothing_the_second_time(context: Context) -> None:
    campaign = start_campaign(context, ["c02", "c04", "c03"])
    first = campaign.tick(day(0))
    assert (first["resumed"], first["drafted"], first["stopped"]) == (3, 2, 1)
    second = campaign.tick(day(0))
    assert second["resumed"] == 0


def test_reenrolling_is_a_no_op(context: Context) -> None:
    campaign = start_campaign(context, ["c02"])
    assert enroll(CrmStore(context.db_url), "cmp1", ["c02", "c04"], day(1)) == (1, 1)
    with pytest.raises(NotFoundError, match="unknown contact id 'nope'"):
        enroll(CrmStore(context.db_url), "cmp1", ["nope"], day(1))
    with pytest.raises(NotFoundError, match="unknown campaign id 'zzz'"):
        enroll(CrmStore(context.db_url), "zzz", None, day(1))
    assert campaign.tick(day(1))["drafted"] == 2


# -- every approval branch, asserted on persisted state -------------------------------------


@pytest.fixture
def waiting(context: Context) -> Campaign:
    """A campaign whose c02 thread has a first draft waiting at the interrupt."""
    campaign = start_campaign(context, ["c02"])
    assert campaign.tick(day(0))["drafted"] == 1
    snapshot = campaign.state(C02)
    assert snapshot.next == ("await_approval",) and snapshot.interrupts
    return campaign


def test_drafts_wait_in_the_agent_inbox_shape(waiting: Campaign) -> None:
    request = waiting.state(C02).interrupts[0].value[0]
    assert request["action_request"]["action"] == "send_email"
    assert set(request["action_request"]["args"]) == {"to", "subject", "body"}
    assert request["config"] == {
        "allow_accept": True,
        "allow_edit": True,
        "allow_respond": True,
        "allow_ignore": True,
    }
    assert "Touch 1 of 6" in request["description"] and "Review" in request["description"]
    assert list_outbox(CrmStore(waiting.context.db_url)) == []  # nothing sent without a decision


def test_accept_sends_the_draft_as_written(waiting: Campaign, tmp_path: Path) -> None:
    pending = waiting.pending(day(0))[0]
    waiting.decide(C02, ACCEPT, day(0))
    snapshot = waiting.state(C02)
    assert snapshot.next == () and not snapshot.interrupts
    [touch] = snapshot.values["touches"]
    assert (touch["touch"], touch["outcome"], touch["edited"]) == (1, "sent", False)
    [row] = list_outbox(CrmStore(waiting.context.db_url))
    assert (row["subject"], row["status"]) == (pending["subject"], "sent")
    [file] = list((tmp_path / "outbox" / "new").iterdir())
    message = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
    assert message["Message-ID"] == row["message_id"] == touch["message_id"]
    assert message["List-Unsubscribe"] == "<mailto:sam@seller.example?subject=unsubscribe>"
    assert "unsubscribe" in message.get_content().lower()


def test_edit_sends_the_edited_draft_rereviewed_and_recorded(waiting: Campaign) -> None:
    edit = {"action": "send_email", "args": {"subject": "Reno", "body": "Hi Daniel, short note."}}
    waiting.decide(C02, HumanResponse(type="edit", args=edit), day(0))  # type: ignore[typeddict-item]
    [touch] = waiting.state(C02).values["touches"]
    assert touch["edited"] is True and touch["outcome"] == "sent"
    [row] = list_outbox(CrmStore(waiting.context.db_url))
    assert row["subject"] == "Reno"


@pytest.mark.parametrize(
    ("subject", "body", "problem"),
    [
        ("Hi", "Hi {{first_name}}", "template marker '{{first_name}}' in body"),
        ("Hello\nBcc: evil@x.example", "Hi Daniel", "subject has a line break"),
    ],
)
def test_an_unsendable_edit_is_refused_and_the_draft_kept(
    waiting: Campaign, subject: str, body: str, problem: str
) -> None:
    before = waiting.state(C02).values["pending"]
    edit = {"action": "send_email", "args": {"subject": subject, "body": body}}
    with pytest.raises(UserError, match=f"edit not accepted \\({problem}"):
        waiting.decide(C02, HumanResponse(type="edit", args=edit), day(0))  # type: ignore[typeddict-item]
    snapshot = waiting.state(C02)
    assert snapshot.interrupts and snapshot.values["pending"] == before
    waiting.decide(C02, ACCEPT, day(0))
    [row] = list_outbox(CrmStore(waiting.context.db_url))
    assert row["subject"] == before["subject"]


def test_approving_after_the_address_changed_or_was_suppressed_sends_nothing(
    waiting: Campaign,
) -> None:
    from coachgraph.store.crm import contacts, suppression
    from schemas.values import email_sha256

    crm = CrmStore(waiting.context.db_url)
    old = crm.get_contact("c02")["email"]  # type: ignore[index]
    with crm.connect(write=True) as conn:
        conn.execute(
            contacts.update().where(contacts.c.id == "c02").values(email="new@corp.example")
        )
    crm.upsert(
        suppression, [{"email_sha256": email_sha256(old), "reason": "bounce"}], ["email_sha256"]
    )
    assert waiting.decide(C02, ACCEPT, day(0))["outcome"] == "stopped"
    assert waiting.state(C02).values["stop_reason"] == "suppressed"
    assert list_outbox(crm) == []


def test_an_address_change_alone_also_holds_the_send(waiting: Campaign) -> None:
    from coachgraph.store.crm import contacts

    crm = CrmStore(waiting.context.db_url)
    with crm.connect(write=True) as conn:
        conn.execute(
            contacts.update().where(contacts.c.id == "c02").values(email="new@corp.example")
        )
    assert waiting.decide(C02, ACCEPT, day(0))["outcome"] == "stopped"
    assert waiting.state(C02).values["stop_reason"] == "address_changed"
    assert list_outbox(crm) == []


def test_sends_in_the_same_second_all_reach_the_history(context: Context) -> None:
    from coachgraph.runner.campaigns import create_campaign

    first = start_campaign(context, ["c02"], campaign_id="cmpA")
    crm = CrmStore(context.db_url)
    create_campaign(
        crm,
        name="B",
        offer="another offer",
        sender_name="Sam",
        sender_email="sam@seller.example",
        campaign_id="cmpB",
    )
    enroll(crm, "cmpB", ["c02"], day(0))
    first.tick(day(0))
    first.approve_all(day(0))
    sent = [m for m in crm.history("c02") if m["direction"] == "out"]
    assert len(sent) == 2 and len(list_outbox(crm)) == 2


def test_edit_with_an_empty_body_is_refused_before_resuming(waiting: Campaign) -> None:
    edit = {"action": "send_email", "args": {"subject": "Hi", "body": "  "}}
    with pytest.raises(UserError, match="non-empty --body"):
        waiting.decide(C02, HumanResponse(type="edit", args=edit), day(0))  # type: ignore[typeddict-item]
    assert waiting.state(C02).interrupts


def test_response_recomposes_with_the_feedback_at_most_twice(waiting: Campaign) -> None:
    before = waiting.pending(day(0))[0]
    waiting.decide(C02, HumanResponse(type="response", args="Make it more formal"), day(0))
    after = waiting.pending(day(0))[0]
    assert after["body"] != before["body"] and after["body"].startswith("Dear Daniel")
    assert after["feedback_rounds"] == 1
    waiting.decide(C02, HumanResponse(type="response", args="shorter please"), day(0))
    assert waiting.pending(day(0))[0]["feedback_rounds"] == 2
    with pytest.raises(UserError, match="already had 2 rounds of feedback"):
        waiting.decide(C02, HumanResponse(type="response", args="again"), day(0))
    assert list_outbox(CrmStore(waiting.context.db_url)) == []


def test_ignore_skips_the_touch_and_schedules_the_next_from_now(waiting: Campaign) -> None:
    waiting.decide(C02, HumanResponse(type="ignore", args="not this week"), day(1))
    [touch] = waiting.state(C02).values["touches"]
    assert (touch["outcome"], touch["at"]) == ("skipped", "2026-11-03T09:00:00+00:00")
    [row] = status_rows(CrmStore(waiting.context.db_url))
    assert (row["status"], row["touches_sent"]) == ("active", 0)
    assert row["next_due_at"] == "2026-11-07T09:00:00+00:00"  # 4 days after the skip
    assert list_outbox(CrmStore(waiting.context.db_url)) == []


def test_decisions_on_threads_that_are_not_waiting(waiting: Campaign) -> None:
    with pytest.raises(NotFoundError, match="unknown thread"):
        waiting.decide("campaign:cmp1:contact:zz", ACCEPT, day(0))
    waiting.decide(C02, ACCEPT, day(0))
    with pytest.raises(UserError, match="is not waiting for approval \\(status: active\\)"):
        waiting.decide(C02, ACCEPT, day(0))
    assert len(list_outbox(CrmStore(waiting.context.db_url))) == 1


def test_checkpoints_stay_small_after_a_full_sequence(context: Context) -> None:
    if not context.db_url.startswith("sqlite"):
        pytest.skip("bytes are measured on the SQLite checkpointer")
    import sqlite3

    campaign = start_campaign(context, ["c02", "c04"])
    run_days(campaign, range(0, 40))
    path = context.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        size = (
            conn.execute(
                "SELECT SUM(LENGTH(checkpoint) + LENGTH(metadata)) FROM checkpoints"
                " WHERE thread_id = ?",
                (C02,),
            ).fetchone()[0]
            + (
                conn.execute(
                    "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?", (C02,)
                ).fetchone()[0]
            )
        )
        kept = conn.execute(
            "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (C02,)
        ).fetchone()[0]
    assert kept == 1
    assert size < 64 * 1024, size


def test_a_tick_across_processes_runs_every_due_thread_once(context: Context) -> None:
    from coachgraph.runner.tick import tick

    contacts = ["c01", "c02", "c03", "c04", "c05", "c07", "c08"]
    campaign = start_campaign(context, contacts)
    report = tick(campaign.at(day(0)), concurrency=2, processes=3)
    assert (report.resumed, report.drafted, report.stopped, report.failed) == (7, 6, 1, 0)
    assert len(campaign.pending(day(0))) == 6
    assert tick(campaign.at(day(0)), concurrency=2, processes=3).resumed == 0
