"""What inbound mail may change, inside the caller's transaction: it only ever narrows.

A flag is set, never cleared; an address is suppressed, never lifted; a live thread is
stopped, never started; a waiting send is withdrawn, never scheduled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from coachgraph.store import due_index
from coachgraph.store.crm import contacts, enrollments, messages, suppression
from schemas.supervision import make_report
from schemas.values import email_sha256, iso, normalize_email

Flag = Literal["replied", "bounced", "unsubscribed"]
SOURCE = "inbox poll"
"""The `source` of a suppression entry inbound mail writes."""


def set_flag(conn: Connection, contact_id: str, flag: Flag) -> None:
    """Set one of the contact's flags (never clear one)."""
    conn.execute(contacts.update().where(contacts.c.id == contact_id).values({flag: True}))


def contact_email(conn: Connection, contact_id: str) -> str | None:
    """The contact's address, or None if it is gone."""
    query = select(contacts.c.email).where(contacts.c.id == contact_id)
    return conn.execute(query).scalar()


def suppress(conn: Connection, addresses: Iterable[str], reason: str, at: str) -> int:
    """Add addresses to the suppression list; one already there keeps its first entry."""
    rows = [
        {"email_sha256": email_sha256(a), "reason": reason, "source": SOURCE, "at": at}
        for a in dict.fromkeys(normalize_email(a) for a in addresses if a and "@" in a)
    ]
    if not rows:
        return 0
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(suppression).on_conflict_do_nothing(index_elements=["email_sha256"])
    return len(conn.execute(stmt.returning(suppression.c.email_sha256), rows).all())


def record_history(
    conn: Connection,
    contact_id: str,
    *,
    message_id: str,
    subject: str,
    body: str,
    at: str,
    thread_id: str | None,
) -> None:
    """An inbound history row (direction `in`); one with the same Message-ID stays as it is."""
    row = {
        "contact_id": contact_id,
        "direction": "in",
        "subject": subject,
        "body": body,
        "at": at,
        "thread_id": thread_id,
        "message_id": message_id,
    }
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(messages).on_conflict_do_nothing(index_elements=["message_id"])
    conn.execute(stmt, row)


def stop_threads(conn: Connection, contact_id: str, reason: str, now: datetime) -> dict[str, int]:
    """Stop every live thread of the contact at once; each thread's withdrawn sends.

    A draft waiting on a person is cancelled with its thread, and `scheduled` sends become
    `withdrawn`.
    """
    query = select(enrollments.c.thread_id).where(
        enrollments.c.contact_id == contact_id, enrollments.c.status.in_(due_index.LIVE_STATUSES)
    )
    threads = list(conn.execute(query.with_for_update()).scalars())
    report = make_report(
        "success" if reason == "replied" else "partial",
        f"stopped: the contact {reason} (read by inbox poll)",
        iso(now),
        "coach",
    )
    withdrawn = due_index.stop_threads(conn, threads, reason, report)
    return {t: withdrawn.get(t, 0) for t in threads}
