"""Caps and pacing per sender mailbox (SPEC §11), held by the database across processes.

A send takes its mailbox's next slot by updating the mailbox's ledger row inside the
transaction that claims the outbox row, so two ticks or workers never both take the
last slot of a day or send closer together than the minimum gap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from coachgraph.store.crm import mailboxes
from schemas.values import iso, parse_instant

JITTER = (0.8, 1.2)
"""The minimum gap is stretched or shrunk by up to 20%, so sends do not tick like a clock."""


@dataclass(frozen=True)
class Slot:
    """What a send must wait for: its window's opening, and its mailbox's cap and gap."""

    mailbox: str
    opens_at: datetime
    """The contact's send window opens (now, when it is open)."""
    daily_cap: int
    min_gap_s: float


def wait_until(conn: Connection, slot: Slot, now: datetime) -> datetime | None:
    """None when the send may go now (its slot is taken), else when to try again."""
    if slot.opens_at > now:
        return slot.opens_at
    _ensure_row(conn, slot.mailbox)
    conn.execute(  # lock the ledger row until this transaction ends
        mailboxes.update().where(mailboxes.c.mailbox == slot.mailbox).values(mailbox=slot.mailbox)
    )
    row = conn.execute(select(mailboxes).where(mailboxes.c.mailbox == slot.mailbox)).one()
    today = now.date().isoformat()
    sent = row.sent_on_day if row.day == today else 0
    if sent >= slot.daily_cap:
        return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    if row.next_free_at and (free := parse_instant(row.next_free_at)) > now:
        return free
    gap = timedelta(seconds=slot.min_gap_s * random.uniform(*JITTER))
    conn.execute(
        mailboxes.update()
        .where(mailboxes.c.mailbox == slot.mailbox)
        .values(day=today, sent_on_day=sent + 1, next_free_at=iso(now + gap))
    )
    return None


def _ensure_row(conn: Connection, mailbox: str) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    row = {"mailbox": mailbox, "day": None, "sent_on_day": 0, "next_free_at": None}
    conn.execute(dialect.insert(mailboxes).values(**row).on_conflict_do_nothing())
