"""A soft bounce is recorded and the message goes again later (SPEC §11a).

Never twice at once, never to a contact who may no longer be emailed; three soft bounces
in 14 days make a hard bounce."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from coachgraph.inbound.maildir import read_maildir
from coachgraph.mail.outbox import idempotency_key, outbox_row
from coachgraph.runner.threads import record_inbound
from coachgraph.store.crm import CrmStore
from schemas.approval import HumanResponse
from tests.integration.campaign_helpers import T0, Campaign, start_campaign, thread
from tests.integration.conftest import smtp_context
from tests.integration.proc_helpers import ScriptedSmtpServer

pytestmark = pytest.mark.integration

CONTACT, TO = "c02", "daniel@northwind-logistics.example"
THREAD = thread("cmp1", CONTACT)
KEY = idempotency_key(THREAD, 1)


@pytest.fixture
def sent(demo_db: str, smtp: ScriptedSmtpServer) -> Campaign:
    """Touch 1 to Daniel, sent through a real SMTP server on loopback."""
    context = smtp_context(demo_db, smtp)
    campaign = start_campaign(context, [CONTACT])
    campaign.tick(T0)
    campaign.decide(THREAD, HumanResponse(type="accept", args=None), T0)
    assert len(smtp.received) == 1
    return campaign


def soft_bounce(folder: Path, crm: CrmStore, at: datetime, n: int) -> None:
    """A 4.2.2 DSN about touch 1 lands in the mailbox the inbox reads."""
    row = outbox_row(crm, KEY)
    assert row is not None
    dsn = (
        "From: MAILER-DAEMON@mx.example\r\nTo: sam@seller.example\r\n"
        f"Subject: Delivery delayed\r\nMessage-ID: <dsn{n}@mx.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nMailbox full.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n"
        f"\r\nFinal-Recipient: rfc822; {TO}\r\nAction: failed\r\nStatus: 4.2.2\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"To: {TO}\r\nMessage-ID: {row['message_id']}\r\n--b--\r\n"
    )
    (folder / "new").mkdir(parents=True, exist_ok=True)
    (folder / "new" / f"{n:04d}.eml").write_bytes(dsn.encode())
    [outcome] = read_maildir(crm, folder, at)
    assert outcome.kind == "soft_bounce", outcome


def test_a_soft_bounced_message_goes_again_once_with_its_own_message_id(
    sent: Campaign, smtp: ScriptedSmtpServer, demo_db: str, tmp_path: Path
) -> None:
    crm = CrmStore(demo_db)
    first_id = smtp.received[0].header("Message-ID")
    soft_bounce(tmp_path / "inbox", crm, T0 + timedelta(hours=1), 1)
    row = outbox_row(crm, KEY)
    assert row is not None and row["status"] == "retry"

    sent.tick(T0 + timedelta(hours=2))  # before the retry time: nothing
    assert len(smtp.received) == 1
    sent.tick(T0 + timedelta(hours=6))
    sent.tick(T0 + timedelta(hours=7))  # and only once

    assert [m.header("Message-ID") for m in smtp.received] == [first_id, first_id]
    row = outbox_row(crm, KEY)
    assert row is not None and row["status"] == "sent"


def test_no_retry_goes_to_a_contact_who_replied_meanwhile(
    sent: Campaign, smtp: ScriptedSmtpServer, demo_db: str, tmp_path: Path
) -> None:
    crm = CrmStore(demo_db)
    soft_bounce(tmp_path / "inbox", crm, T0 + timedelta(hours=1), 1)
    record_inbound(crm, CONTACT, kind="reply", body="Got it, thanks", now=T0 + timedelta(hours=2))

    sent.tick(T0 + timedelta(hours=6))

    assert len(smtp.received) == 1
    row = outbox_row(crm, KEY)
    assert row is not None and row["status"] == "withdrawn" and "replied" in str(row["error"])


def test_three_soft_bounces_in_two_weeks_are_a_hard_bounce(
    sent: Campaign, demo_db: str, tmp_path: Path
) -> None:
    crm = CrmStore(demo_db)
    for n in (1, 2, 3):
        soft_bounce(tmp_path / "inbox", crm, T0 + timedelta(days=n), n)
        sent.tick(T0 + timedelta(days=n, hours=5))

    contact = crm.get_contact(CONTACT)
    assert contact is not None and contact["bounced"]
    assert crm.suppression_reason(TO) == "bounced"
