"""A recipient's one-click unsubscribe, written in one transaction (SPEC §11, §5).

The contact is flagged `unsubscribed` and suppressed (permanently, like every opt-out),
and each of its live threads in the campaigns of the same sender stops: the lease and due
time are cleared, a waiting draft is cancelled, a send still waiting for its window is
withdrawn. Threads of other senders are left as they are (the suppression stops them at
their next run anyway). Nothing needs a table of its own: the token carries the ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from coachgraph.store import due_index
from coachgraph.store.audit import write_events
from coachgraph.store.crm import CrmStore, campaigns, contacts, enrollments, suppression
from schemas.errors import NotFoundError
from schemas.supervision import AuditEvent, audit_event
from schemas.values import email_sha256

STOP_REASON = "unsubscribed"
"""`stop_reason` of a thread a one-click unsubscribe stopped."""
SOURCE = "one-click"
"""`source` of the suppression entry, and of the audit row's metadata."""


@dataclass(frozen=True)
class Unsubscribed:
    """What one unsubscribe did."""

    contact_id: str
    """The contact the token named."""
    campaign_id: str
    """The campaign the token named."""
    sender_email: str | None
    """The sender whose campaigns it covered; None when that campaign no longer exists."""
    changed: bool
    """False for a replay: the contact was already unsubscribed, suppressed and stopped."""
    stopped_threads: tuple[str, ...] = ()
    """Thread ids stopped now."""
    withdrawn_sends: int = 0
    """Scheduled sends of those threads withdrawn now."""


def unsubscribe_contact(crm: CrmStore, contact_id: str, campaign_id: str, at: str) -> Unsubscribed:
    """Unsubscribe one contact from every campaign of `campaign_id`'s sender, audited.

    Raises:
        NotFoundError: the contact no longer exists (nothing is changed).
    """
    with crm.connect(write=True) as conn:
        email = _lock_contact(conn, contact_id)
        sender = conn.execute(
            select(campaigns.c.sender_email).where(campaigns.c.id == campaign_id)
        ).scalar()
        live = _live_threads(conn, contact_id, campaign_id, sender)
        if _already_done(conn, contact_id, email) and not live:
            return Unsubscribed(contact_id, campaign_id, sender, changed=False)
        withdrawn = _stop(conn, live)
        _opt_out(conn, contact_id, email, at)
        done = Unsubscribed(contact_id, campaign_id, sender, True, tuple(live), withdrawn)
        write_events(conn, [_event(done, at)])
    return done


def _lock_contact(conn: Connection, contact_id: str) -> str:
    """Take the write lock (SQLite) and the contact's row (Postgres); its email address."""
    email = conn.execute(
        contacts.update()
        .where(contacts.c.id == contact_id)
        .values(unsubscribed=contacts.c.unsubscribed)
        .returning(contacts.c.email)
    ).scalar()
    if email is None:
        raise NotFoundError(
            "the contact this unsubscribe link was made for no longer exists; nothing changed"
        )
    return str(email)


def _live_threads(
    conn: Connection, contact_id: str, campaign_id: str, sender: str | None
) -> list[str]:
    """The contact's live threads in the campaigns of `sender` (or just this campaign)."""
    same_sender = (
        select(campaigns.c.id).where(campaigns.c.sender_email == sender)
        if sender is not None
        else select(campaigns.c.id).where(campaigns.c.id == campaign_id)
    )
    query = (
        select(enrollments.c.thread_id)
        .where(
            enrollments.c.contact_id == contact_id,
            enrollments.c.campaign_id.in_(same_sender),
            enrollments.c.status.in_(due_index.LIVE_STATUSES),
        )
        .order_by(enrollments.c.thread_id)
        .with_for_update()
    )
    return list(conn.execute(query).scalars())


def _already_done(conn: Connection, contact_id: str, email: str) -> bool:
    flagged = conn.execute(
        select(contacts.c.unsubscribed).where(contacts.c.id == contact_id)
    ).scalar()
    entry = conn.execute(
        select(suppression.c.email_sha256).where(suppression.c.email_sha256 == email_sha256(email))
    ).first()
    return bool(flagged) and entry is not None


def _stop(conn: Connection, thread_ids: list[str]) -> int:
    """Stop the threads and withdraw their scheduled sends; how many sends were withdrawn."""
    return sum(due_index.stop_threads(conn, thread_ids, STOP_REASON).values())


def _opt_out(conn: Connection, contact_id: str, email: str, at: str) -> None:
    """Flag the contact and add its suppression entry (an existing entry keeps its reason)."""
    conn.execute(contacts.update().where(contacts.c.id == contact_id).values(unsubscribed=True))
    dialect: Any = sqlite if conn.dialect.name == "sqlite" else postgresql
    entry = {"email_sha256": email_sha256(email), "reason": STOP_REASON, "source": SOURCE, "at": at}
    conn.execute(dialect.insert(suppression).values(**entry).on_conflict_do_nothing())


def _event(done: Unsubscribed, at: str) -> AuditEvent:
    return audit_event(
        "inbound",
        "contact",
        "coach",
        f"one-click unsubscribe from contact {done.contact_id}: "
        f"{len(done.stopped_threads)} thread(s) stopped",
        at,
        thread_id=f"campaign:{done.campaign_id}:contact:{done.contact_id}",
        campaign_id=done.campaign_id,
        kind="unsubscribe",
        source=SOURCE,
        contact_id=done.contact_id,
        sender_email=done.sender_email,
        stopped_threads=list(done.stopped_threads),
        withdrawn_sends=done.withdrawn_sends,
    )
