"""Match an inbound message to the thread and contact it concerns (SPEC §11a)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from coachgraph.inbound.classify import Classified
from coachgraph.store.crm import contacts, enrollments, messages, outbox
from schemas.values import normalize_email, without_tag

REPORT_KINDS = ("hard_bounce", "soft_bounce", "complaint")
"""Kinds sent by a machine about our message: never matched by their own sender."""


@dataclass(frozen=True)
class Match:
    """The contact (and thread) a message concerns, and what matched it."""

    contact_id: str | None
    thread_id: str | None
    by: str
    """`in-reply-to`, `references`, `original message`, `recipient`, `sender` or `none`."""


NO_MATCH = Match(None, None, "none")


def match(conn: Connection, found: Classified) -> Match:
    """Headers first (our deterministic Message-IDs), then the address."""
    for by, ids in _id_sources(found):
        for message_id in ids:
            if (hit := by_message_id(conn, message_id, by)) is not None:
                return hit
    for address in _addresses(found):
        if (contact_id := contact_by_address(conn, address)) is not None:
            by = "recipient" if found.kind in REPORT_KINDS else "sender"
            return Match(contact_id, None, by)
    return NO_MATCH


def _id_sources(found: Classified) -> list[tuple[str, tuple[str, ...]]]:
    """Where to look for the message answered, best first (the newest reference first)."""
    sources = [("in-reply-to", found.in_reply_to), ("references", found.references[::-1])]
    if found.original_message_id:
        sources.insert(0, ("original message", (found.original_message_id,)))
    return sources


def _addresses(found: Classified) -> tuple[str, ...]:
    return found.recipients if found.kind in REPORT_KINDS else (found.from_email,)


def by_message_id(conn: Connection, message_id: str, by: str) -> Match | None:
    """The thread and contact of one of our sent messages, or of a history message."""
    sent = conn.execute(
        select(outbox.c.thread_id, enrollments.c.contact_id)
        .select_from(outbox.outerjoin(enrollments, enrollments.c.thread_id == outbox.c.thread_id))
        .where(outbox.c.message_id == message_id)
    ).first()
    if sent is not None and sent.contact_id is not None:
        return Match(sent.contact_id, sent.thread_id, by)
    known = conn.execute(
        select(messages.c.contact_id, messages.c.thread_id).where(
            messages.c.message_id == message_id
        )
    ).first()
    return Match(known.contact_id, known.thread_id, by) if known is not None else None


def contact_by_address(conn: Connection, address: str) -> str | None:
    """The contact with this address (or the address without its `+tag`), or None."""
    candidates = list(dict.fromkeys([normalize_email(address), without_tag(address)]))
    query = select(contacts.c.id, contacts.c.email).where(contacts.c.email.in_(candidates))
    found = {row.email: row.id for row in conn.execute(query)}
    return next((found[c] for c in candidates if c in found), None)
