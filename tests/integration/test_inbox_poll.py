"""`coachgraph inbox poll` end to end (SPEC §11a): a real IMAP server, SQLite and Postgres.

pymap's in-memory server on loopback holds the corpus of `tests/fixtures/inbound`; each
test asserts what the poll persisted (contacts, suppression, enrollments, outbox, history,
inbound rows, audit rows), besides the command's JSON and exit code.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from coachgraph.inbound.imap import Account, poll
from coachgraph.runner.campaigns import create_campaign, enroll
from coachgraph.store.crm import (
    CrmStore,
    contacts,
    enrollments,
    inbound_messages,
    inbound_state,
    messages,
    outbox,
)
from schemas.context import Context
from schemas.errors import UserError
from schemas.values import iso, parse_instant
from tests.integration.campaign_helpers import T0, day, start_campaign, thread
from tests.integration.conftest import Run, one_line_error
from tests.integration.imap_server import DroppingProxy, ImapServer
from tests.integration.supervision_helpers import all_audit_text, as_json, snapshot

pytestmark = pytest.mark.integration

Cli = Callable[..., Run]
CORPUS = Path(__file__).parents[1] / "fixtures" / "inbound"
NOW = "2026-11-03T18:00:00Z"
SENT_TO = ("c02", "c04", "c05", "c07", "c08", "c09", "c11", "c13", "c14", "c15")
"""Contacts whose first touch the corpus answers (its Message-IDs end in the contact id)."""


def eml(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def sent_id(contact_id: str) -> str:
    """The Message-ID the corpus gives our first touch to a contact."""
    return f"<d{'0' * (31 - len(contact_id))}{contact_id}@seller.example>"


@pytest.fixture
def imap(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImapServer]:
    """A started IMAP server; the CLI's IMAP settings point at it (plain IMAP on loopback)."""
    with ImapServer() as server:
        point_at(monkeypatch, server, server.port)
        yield server


def point_at(monkeypatch: pytest.MonkeyPatch, server: ImapServer, port: int) -> None:
    for key, value in {
        "IMAP_HOST": server.host,
        "IMAP_PORT": str(port),
        "IMAP_USER": server.user,
        "IMAP_PASSWORD": server.password,
        "IMAP_TLS": "false",
    }.items():
        monkeypatch.setenv(key, value)


def seed(context: Context) -> CrmStore:
    """Campaign cmp1 with SENT_TO enrolled, each first touch sent with the corpus's Message-ID,
    and c02's second touch scheduled (waiting for its send window)."""
    crm = CrmStore(context.db_url)
    create_campaign(
        crm,
        name="Q4",
        offer="a walkthrough",
        sender_name="Sam Rivera",
        sender_email="sam@seller.example",
        campaign_id="cmp1",
    )
    enroll(crm, "cmp1", list(SENT_TO), T0)
    rows = [_outbox_row(c, 1, "sent") for c in SENT_TO] + [_outbox_row("c02", 2, "scheduled")]
    with crm.connect(write=True) as conn:
        conn.execute(outbox.insert(), rows)
    return crm


def _outbox_row(contact_id: str, touch: int, status: str) -> dict[str, Any]:
    return {
        "idempotency_key": f"{thread('cmp1', contact_id)}:touch:{touch}",
        "thread_id": thread("cmp1", contact_id),
        "touch": touch,
        "to_email": f"{contact_id}@placeholder.example",
        "subject": "A walkthrough",
        "body": "Hi",
        "message_id": sent_id(contact_id)
        if touch == 1
        else f"<t{touch}{contact_id}@seller.example>",
        "status": status,
        "sent_at": iso(T0) if status == "sent" else None,
        "created_at": iso(T0),
    }


def rows(crm: CrmStore, table: Any, **where: Any) -> list[dict[str, Any]]:
    query = select(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with crm.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def contact(crm: CrmStore, contact_id: str) -> dict[str, Any]:
    return rows(crm, contacts, id=contact_id)[0]


def enrolment(crm: CrmStore, contact_id: str, campaign_id: str = "cmp1") -> dict[str, Any]:
    return rows(crm, enrollments, thread_id=thread(campaign_id, contact_id))[0]


def inbound(crm: CrmStore, name_part: str) -> dict[str, Any]:
    """The inbound row whose Message-ID contains `name_part`."""
    return next(r for r in rows(crm, inbound_messages) if name_part in (r["message_id"] or ""))


def poll_json(cli: Cli, *args: str) -> dict[str, Any]:
    return dict(as_json(cli("inbox", "poll", "--json", "--now", NOW, *args)))


ALL = sorted(p.name for p in CORPUS.glob("*.eml"))


def test_every_classification_has_its_effects(context: Context, imap: ImapServer, cli: Cli) -> None:
    crm = seed(context)
    imap.append(*(eml(n) for n in ALL))
    report = poll_json(cli)
    assert {k: report[k] for k in ("read", "reply", "auto_reply", "hard_bounce")} == {
        "read": 16, "reply": 4, "auto_reply": 4, "hard_bounce": 1,
    }  # fmt: skip
    assert (report["soft_bounce"], report["unsubscribe"], report["complaint"]) == (1, 4, 1)
    assert (report["unknown"], report["skipped"], report["unmatched"]) == (1, 1, 1)
    assert imap.unseen() == 16, "BODY.PEEK: the poll marks nothing seen"

    # Replies: flagged, recorded in history with their own Message-ID, every thread stopped.
    for contact_id in ("c02", "c04"):
        assert contact(crm, contact_id)["replied"]
        assert enrolment(crm, contact_id)["status"] == "stopped"
        assert enrolment(crm, contact_id)["stop_reason"] == "replied"
    daniel = rows(crm, messages, contact_id="c02", direction="in")
    assert [m["message_id"] for m in daniel] == ["<CAF3k9q2Lw+reply-gmail-0001@mail.gmail.com>"]
    assert "unsubscribe" not in daniel[0]["body"] and daniel[0]["body"].startswith("Hi Sam")
    scheduled = rows(crm, outbox, thread_id=thread("cmp1", "c02"), touch=2)[0]
    assert scheduled["status"] == "withdrawn"
    assert not contact(crm, "c02")["unsubscribed"], "a quoted unsubscribe is not an opt-out"
    assert crm.suppression_reason("daniel@northwind-logistics.example") is None
    assert inbound(crm, "reply-gmail")["thread_id"] == thread("cmp1", "c02")  # In-Reply-To
    assert inbound(crm, "reply-outlook")["thread_id"] == thread("cmp1", "c04")  # References
    maria = inbound(crm, "reply-apple")  # the sender's address alone
    assert (maria["contact_id"], maria["thread_id"], maria["status"]) == ("c01", None, "applied")
    assert contact(crm, "c01")["replied"]

    # Auto-replies: recorded, not history, the thread goes on.
    assert enrolment(crm, "c05")["status"] == "active"
    assert not contact(crm, "c05")["replied"]
    assert rows(crm, messages, contact_id="c05", direction="in") == []
    assert inbound(crm, "ooo-en")["status"] == "recorded"

    # Hard bounce, complaint, opt-outs in words: flagged, suppressed, threads stopped.
    assert contact(crm, "c07")["bounced"] and enrolment(crm, "c07")["stop_reason"] == "bounced"
    assert crm.suppression_reason("fatima.alsayed@brightpath-analytics.example") == "bounced"
    assert contact(crm, "c09")["unsubscribed"]
    assert crm.suppression_reason("grace.whitfield@cedarcare-clinics.example") == "complaint"
    assert enrolment(crm, "c09")["stop_reason"] == "unsubscribed"
    for contact_id, address in (
        ("c11", "ingrid@cedarcare-clinics.example"),
        ("c13", "zofia.kowalska@ironvale-manufacturing.example"),
        ("c14", "brennan@ironvale-manufacturing.example"),
        ("c15", "wei.chen@lumenpay.example"),
    ):
        assert contact(crm, contact_id)["unsubscribed"]
        assert crm.suppression_reason(address) == "unsubscribed"
        assert (
            enrolment(crm, contact_id)["status"],
            enrolment(crm, contact_id)["stop_reason"],
        ) == (
            "stopped",
            "unsubscribed",
        )

    # Soft bounce: recorded, the thread goes on.
    assert not contact(crm, "c08")["bounced"] and enrolment(crm, "c08")["status"] == "active"
    assert inbound(crm, "dsn-soft")["status"] == "recorded"

    # Unmatched: kept for a person; malformed: skipped with a reason.
    assert inbound(crm, "unmatched-0015")["status"] == "unmatched"
    skipped = [r for r in rows(crm, inbound_messages) if r["status"] == "skipped"]
    assert [(r["kind"], r["detail"][:10]) for r in skipped] == [("unknown", "malformed:")]


def test_unmatched_mail_waits_on_a_person(context: Context, imap: ImapServer, cli: Cli) -> None:
    seed(context)
    imap.append(eml("unmatched.eml"), eml("reply_gmail.eml"))
    poll_json(cli)
    attention = [r for r in as_json(cli("attention", "--json")) if r["kind"] == "unmatched_inbound"]
    assert len(attention) == 1
    assert set(attention[0]) == {"kind", "thread_id", "contact_id", "reason", "at"}
    assert "pat@elsewhere.example" in attention[0]["reason"]
    assert "Partnership question" in attention[0]["reason"]
    listed = as_json(cli("inbox", "list", "--unmatched", "--json"))
    assert [r["from_email"] for r in listed] == ["pat@elsewhere.example"]
    assert len(as_json(cli("inbox", "list", "--json"))) == 2


def test_inbound_is_audited_without_the_password(
    context: Context, imap: ImapServer, cli: Cli
) -> None:
    crm = seed(context)
    imap.append(eml("reply_gmail.eml"), eml("ooo_en.eml"), eml("unmatched.eml"))
    poll_json(cli)
    audit = as_json(cli("audit", "--type", "inbound", "--json"))
    kinds = [(r["metadata"]["kind"], r["metadata"]["status"]) for r in audit]
    assert kinds == [("reply", "applied"), ("auto_reply", "recorded"), ("reply", "unmatched")]
    assert audit[0]["thread_id"] == thread("cmp1", "c02")
    assert audit[0]["metadata"]["stopped_threads"] == [thread("cmp1", "c02")]
    assert as_json(cli("audit", "--thread", thread("cmp1", "c02"), "--type", "inbound", "--json"))
    assert imap.password not in all_audit_text(crm)
    assert imap.password not in str(snapshot(crm))


def test_each_message_is_processed_once_across_polls(
    context: Context, imap: ImapServer, cli: Cli
) -> None:
    crm = seed(context)
    imap.append(eml("reply_gmail.eml"), eml("ooo_en.eml"))
    assert poll_json(cli)["read"] == 2
    assert poll_json(cli)["read"] == 0
    uids = imap.append(eml("remove_en.eml"))
    second = poll_json(cli)
    assert (second["read"], second["unsubscribe"], second["last_uid"]) == (1, 1, uids[0])
    assert len(rows(crm, inbound_messages)) == 3
    assert len(rows(crm, messages, contact_id="c02", direction="in")) == 1
    assert len(as_json(cli("audit", "--type", "inbound", "--json"))) == 3


def test_a_dropped_connection_loses_nothing_and_repeats_nothing(
    context: Context, imap: ImapServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = seed(context)
    names = [
        "reply_gmail.eml",
        "ooo_en.eml",
        "remove_en.eml",
        "dsn_hard_5_1_1.eml",
        "remove_es.eml",
    ]
    uids = imap.append(*(eml(n) for n in names))
    with DroppingProxy(imap.port, fetches=2) as proxy:
        point_at(monkeypatch, imap, proxy.port)
        line = one_line_error(cli("inbox", "poll", "--now", NOW))
    assert f"{imap.host}:{proxy.port}" in line and "dropped after 2 message(s)" in line
    assert f"resumes after UID {uids[1]}" in line
    assert [r["uid"] for r in rows(crm, inbound_messages)] == uids[:2]
    assert rows(crm, inbound_state)[0]["last_uid"] == uids[1]
    assert not contact(crm, "c11")["unsubscribed"], "the third message was not applied"

    point_at(monkeypatch, imap, imap.port)
    resumed = poll_json(cli)
    assert (resumed["read"], resumed["unsubscribe"], resumed["hard_bounce"]) == (3, 2, 1)
    assert sorted(r["uid"] for r in rows(crm, inbound_messages)) == uids
    assert contact(crm, "c11")["unsubscribed"] and contact(crm, "c07")["bounced"]
    assert len(as_json(cli("audit", "--type", "inbound", "--json"))) == 5
    assert poll_json(cli)["read"] == 0


def test_a_new_uidvalidity_starts_over_without_applying_twice(
    context: Context, imap: ImapServer, cli: Cli
) -> None:
    crm = seed(context)
    imap.append(eml("reply_gmail.eml"), eml("ooo_en.eml"), eml("dsn_soft_4_2_2.eml"))
    first = poll_json(cli)
    imap.restart()  # the folder was rebuilt: same messages, new UIDs, new UIDVALIDITY
    imap.append(eml("reply_gmail.eml"), eml("ooo_en.eml"), eml("dsn_soft_4_2_2.eml"))
    imap.append(eml("remove_en.eml"))
    second = poll_json(cli)
    assert second["uid_validity"] != first["uid_validity"] and second["restarted"]
    assert (second["read"], second["duplicate"], second["unsubscribe"]) == (4, 3, 1)
    assert len(rows(crm, messages, contact_id="c02", direction="in")) == 1
    applied = [r for r in rows(crm, inbound_messages) if r["status"] != "duplicate"]
    assert len(applied) == 4
    soft = [r for r in rows(crm, inbound_messages) if r["kind"] == "soft_bounce"]
    assert [r["status"] for r in soft] == ["recorded", "duplicate"]
    assert rows(crm, inbound_state)[0]["uid_validity"] == second["uid_validity"]


def test_three_soft_bounces_in_fourteen_days_are_a_hard_bounce(
    context: Context, imap: ImapServer, cli: Cli
) -> None:
    crm = seed(context)
    soft = eml("dsn_soft_4_2_2.eml")
    for n, when in enumerate(
        ("2026-11-03T10:00:00Z", "2026-11-08T10:00:00Z", "2026-11-16T10:00:00Z")
    ):
        imap.append(soft.replace(b"dsn-soft-0009", f"dsn-soft-{n}".encode()))
        cli("inbox", "poll", "--now", when)
        assert not contact(crm, "c08")["bounced"] or n == 2
    assert contact(crm, "c08")["bounced"]
    assert crm.suppression_reason("ben.hartley@brightpath-analytics.example") == "bounced"
    assert enrolment(crm, "c08")["stop_reason"] == "bounced"


def test_spread_out_soft_bounces_stay_soft(context: Context, imap: ImapServer, cli: Cli) -> None:
    crm = seed(context)
    soft = eml("dsn_soft_4_2_2.eml")
    for n, when in enumerate(
        ("2026-11-01T10:00:00Z", "2026-11-10T10:00:00Z", "2026-11-20T10:00:00Z")
    ):
        imap.append(soft.replace(b"dsn-soft-0009", f"dsn-soft-{n}".encode()))
        assert cli("inbox", "poll", "--now", when).code == 0
    assert not contact(crm, "c08")["bounced"]
    assert enrolment(crm, "c08")["status"] == "active"


def test_a_reply_cancels_a_waiting_draft_in_every_campaign(
    context: Context, imap: ImapServer, cli: Cli
) -> None:
    """Daniel answers touch 1 of cmp1 while cmp2's draft to him waits on a person."""
    crm = CrmStore(context.db_url)
    first = start_campaign(context, ["c02", "c04"], campaign_id="cmp1")
    second = start_campaign(context, ["c02"], campaign_id="cmp2")
    first.tick(day(0))
    second.tick(day(0))
    in_window = day(0.25)  # 09:00 in Chicago, a Monday: the approved touch goes at once
    first.decide(thread("cmp1", "c02"), {"type": "accept", "args": None}, in_window)
    touch1 = rows(crm, outbox, thread_id=thread("cmp1", "c02"))[0]
    assert touch1["status"] == "sent"
    assert enrolment(crm, "c02", "cmp2")["status"] == "awaiting_approval"

    reply = re.sub(
        rb"<d0+c02@seller.example>", touch1["message_id"].encode(), eml("reply_gmail.eml")
    )
    imap.append(reply)
    assert poll_json(cli)["stopped_threads"] == 2

    for campaign_id in ("cmp1", "cmp2"):
        row = enrolment(crm, "c02", campaign_id)
        assert (row["status"], row["stop_reason"], row["next_due_at"]) == (
            "stopped",
            "replied",
            None,
        )
        assert row["pending_decision"] is None and row["lease_owner"] is None
    assert enrolment(crm, "c04")["status"] == "awaiting_approval", "another contact goes on"
    waiting = [r["thread_id"] for r in as_json(cli("approvals", "list", "--json"))]
    assert waiting == [thread("cmp1", "c04")]
    one_line_error(cli("approvals", "approve", thread("cmp2", "c02")))  # nothing to approve
    first.tick(day(10))
    second.tick(day(10))
    to_daniel = [r for r in rows(crm, outbox) if r["to_email"] == touch1["to_email"]]
    assert [(r["message_id"], r["status"]) for r in to_daniel] == [(touch1["message_id"], "sent")]
    assert rows(crm, outbox, thread_id=thread("cmp2", "c02")) == [], "the waiting draft never went"


# Bad input: one line, exit 1, nothing changed.


def test_an_unset_imap_host_is_named(context: Context, cli: Cli) -> None:
    crm = CrmStore(context.db_url)
    before = snapshot(crm)
    assert "IMAP_HOST" in one_line_error(cli("inbox", "poll"))
    assert snapshot(crm) == before


def test_an_unreachable_server_is_named_and_changes_nothing(
    context: Context, imap: ImapServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = seed(context)
    before = snapshot(crm)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("IMAP_PORT", str(closed))
    line = one_line_error(cli("inbox", "poll"))
    assert f"127.0.0.1:{closed}" in line
    assert snapshot(crm) == before


def test_a_wrong_password_is_one_line_and_never_printed(
    context: Context, imap: ImapServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = seed(context)
    imap.append(eml("reply_gmail.eml"))
    before = snapshot(crm)
    monkeypatch.setenv("IMAP_PASSWORD", "not-the-password-123")
    run = cli("inbox", "poll")
    line = one_line_error(run)
    assert "IMAP_PASSWORD" in line and "refused" in line
    assert "not-the-password-123" not in run.err + run.out
    assert snapshot(crm) == before


def test_a_silent_server_times_out_naming_it(context: Context) -> None:
    crm = seed(context)
    before = snapshot(crm)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never greets
        port = silent.getsockname()[1]
        account = Account("127.0.0.1", port, "u", "p", "INBOX", tls=False)
        with pytest.raises(UserError, match=f"127.0.0.1:{port}"):
            poll(crm, account, parse_instant(NOW), timeout=0.5)
    assert snapshot(crm) == before


def test_a_malformed_message_is_skipped_and_the_batch_goes_on(
    context: Context, imap: ImapServer, cli: Cli
) -> None:
    crm = seed(context)
    imap.append(eml("reply_gmail.eml"), eml("malformed.eml"), eml("remove_en.eml"))
    report = poll_json(cli)
    assert (report["read"], report["skipped"], report["reply"], report["unsubscribe"]) == (
        3, 1, 1, 1,
    )  # fmt: skip
    assert contact(crm, "c11")["unsubscribed"]
    assert poll_json(cli)["read"] == 0, "the skipped message is not read again"
