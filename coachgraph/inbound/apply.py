"""Apply one inbound message (SPEC §11a): its row, its effects and its audit, in one transaction.

The caller advances the folder's UID in the same transaction, so a message is applied
exactly when its UID is recorded: a dropped connection loses nothing and repeats nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from coachgraph.inbound.classify import Classified, Kind, MalformedMessageError, classify
from coachgraph.inbound.effects import (
    Flag,
    contact_email,
    record_history,
    set_flag,
    stop_threads,
    suppress,
)
from coachgraph.inbound.match import NO_MATCH, REPORT_KINDS, Match, match
from coachgraph.store.audit import write_events
from coachgraph.store.crm import history_id, inbound_messages, outbox
from schemas.supervision import AuditEvent, audit_event
from schemas.values import iso

log = logging.getLogger(__name__)

Status = Literal["applied", "recorded", "unmatched", "duplicate", "skipped", "taken"]
"""`taken`: another poll stored this UID first (nothing is written twice)."""
SOFT_BOUNCES_AS_HARD = 3
"""Soft bounces for one contact within `SOFT_BOUNCE_WINDOW` that count as a hard bounce."""
SOFT_BOUNCE_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class Where:
    """A message's place on the server: folder key, UIDVALIDITY and UID."""

    mailbox: str
    uid_validity: str
    uid: int


@dataclass(frozen=True)
class Effect:
    """What one kind of message does to a matched contact."""

    flag: Flag
    suppression_reason: str | None
    stop_reason: str


EFFECTS: dict[str, Effect] = {
    "reply": Effect("replied", None, "replied"),
    "hard_bounce": Effect("bounced", "bounced", "bounced"),
    "unsubscribe": Effect("unsubscribed", "unsubscribed", "unsubscribed"),
    "complaint": Effect("unsubscribed", "complaint", "unsubscribed"),
}
"""Kinds that narrow who is contacted; every other kind is recorded and changes nothing."""


@dataclass(frozen=True)
class Outcome:
    """What became of one message."""

    kind: Kind
    status: Status
    contact_id: str | None = None
    stopped: dict[str, int] = field(default_factory=dict)
    """Threads stopped, each with its withdrawn sends."""
    detail: str = ""


def apply_message(conn: Connection, where: Where, raw: bytes, now: datetime) -> Outcome:
    """Classify, match and apply one message, storing its row (never twice)."""
    try:
        found = classify(raw)
    except MalformedMessageError as exc:
        return _skip(conn, where, str(exc), now)
    if (earlier := _seen(conn, where.mailbox, found.message_id)) is not None:
        detail = f"already read as UID {earlier[1]} (UIDVALIDITY {earlier[0]})"
        return _store_only(conn, where, found, "duplicate", detail, now)
    hit = match(conn, found)
    effect, detail = _effect(conn, found, hit, now)
    status: Status = "unmatched" if hit.contact_id is None else "applied" if effect else "recorded"
    if not _insert(conn, where, found, hit, status, detail, now):
        return Outcome(found.kind, "taken")
    stopped = _narrow(conn, found, hit, effect, now)
    outcome = Outcome(found.kind, status, hit.contact_id, stopped, detail)
    write_events(conn, _events(where, found, hit, outcome, now))
    return outcome


def _effect(
    conn: Connection, found: Classified, hit: Match, now: datetime
) -> tuple[Effect | None, str]:
    """The effect a message has, and the detail line to store (soft bounces may add up)."""
    if found.kind != "soft_bounce" or hit.contact_id is None:
        return EFFECTS.get(found.kind), found.detail
    earlier = _recent_soft_bounces(conn, hit.contact_id, now)
    if earlier + 1 < SOFT_BOUNCES_AS_HARD:
        return None, found.detail
    note = f"{earlier + 1} soft bounces within {SOFT_BOUNCE_WINDOW.days} days: treated as hard"
    return EFFECTS["hard_bounce"], f"{found.detail}; {note}"


SOFT_BOUNCE_RETRY = timedelta(hours=4)
"""A soft-bounced message goes again this long after the bounce arrived."""


def retry_later(conn: Connection, message_id: str, at: datetime) -> None:
    """Queue a sent message that soft-bounced to go again at `at`, same key, same Message-ID.

    A tick sends it (`coachgraph.runner.threads.send_retries`) if the contact may still be
    emailed then; a third soft bounce within the window makes the address a hard bounce.
    """
    conn.execute(
        outbox.update()
        .where(outbox.c.message_id == message_id, outbox.c.status == "sent")
        .values(status="retry", scheduled_for=iso(at), error="soft bounce: sending again")
    )


def _recent_soft_bounces(conn: Connection, contact_id: str, now: datetime) -> int:
    query = select(func.count()).where(
        inbound_messages.c.contact_id == contact_id,
        inbound_messages.c.kind == "soft_bounce",
        inbound_messages.c.received_at >= iso(now - SOFT_BOUNCE_WINDOW),
    )
    return int(conn.execute(query).scalar_one())


def _narrow(
    conn: Connection, found: Classified, hit: Match, effect: Effect | None, now: datetime
) -> dict[str, int]:
    """Flag, suppress and stop as the effect says; only opt-outs act on unmatched mail."""
    at = iso(now)
    if effect is None:
        if found.kind == "soft_bounce" and found.original_message_id:
            retry_later(conn, found.original_message_id, now + SOFT_BOUNCE_RETRY)
        return {}
    if effect.suppression_reason is not None:
        suppress(conn, _opted_out(conn, found, hit), effect.suppression_reason, at)
    if hit.contact_id is None:
        return {}
    set_flag(conn, hit.contact_id, effect.flag)
    if found.kind == "reply":
        record_history(
            conn,
            hit.contact_id,
            message_id=found.message_id or _history_key(hit.contact_id, found, at),
            subject=found.subject,
            body=found.text,
            at=at,
            thread_id=hit.thread_id,
        )
    return stop_threads(conn, hit.contact_id, effect.stop_reason, now)


def _opted_out(conn: Connection, found: Classified, hit: Match) -> list[str]:
    """Addresses an opt-out blocks: the contact's, and the one that bounced or asked."""
    named = found.recipients if found.kind in REPORT_KINDS else (found.from_email,)
    own = contact_email(conn, hit.contact_id) if hit.contact_id else None
    return [a for a in (own, *named) if a]


def _history_key(contact_id: str, found: Classified, at: str) -> str:
    row = {"contact_id": contact_id, "direction": "in", "at": at}
    return history_id(row | {"subject": found.subject, "body": found.text})


def _seen(conn: Connection, mailbox: str, message_id: str | None) -> tuple[str, int] | None:
    """(UIDVALIDITY, UID) under which this Message-ID was read before, if it was."""
    if not message_id:
        return None
    query = select(inbound_messages.c.uid_validity, inbound_messages.c.uid).where(
        inbound_messages.c.mailbox == mailbox,
        inbound_messages.c.message_id == message_id,
        inbound_messages.c.status != "skipped",
    )
    row = conn.execute(query.order_by(inbound_messages.c.id).limit(1)).first()
    return (row.uid_validity, int(row.uid)) if row else None


def _skip(conn: Connection, where: Where, reason: str, now: datetime) -> Outcome:
    """Keep a message that cannot be read, so the batch goes on and a person can look."""
    log.warning("inbound UID %s in %s skipped: %s", where.uid, where.mailbox, reason)
    detail = f"malformed: {reason}"
    if not _write_row(conn, _row(where, None, NO_MATCH, "unknown", "skipped", detail, now)):
        return Outcome("unknown", "taken")
    outcome = Outcome("unknown", "skipped", detail=detail)
    write_events(conn, _events(where, None, NO_MATCH, outcome, now))
    return outcome


def _store_only(
    conn: Connection, where: Where, found: Classified, status: Status, detail: str, now: datetime
) -> Outcome:
    if not _insert(conn, where, found, NO_MATCH, status, detail, now):
        return Outcome(found.kind, "taken")
    return Outcome(found.kind, status, detail=detail)


def _insert(
    conn: Connection,
    where: Where,
    found: Classified,
    hit: Match,
    status: Status,
    detail: str,
    now: datetime,
) -> bool:
    return _write_row(conn, _row(where, found, hit, found.kind, status, detail, now))


def _row(
    where: Where,
    found: Classified | None,
    hit: Match,
    kind: Kind,
    status: Status,
    detail: str,
    now: datetime,
) -> dict[str, object]:
    return {
        "mailbox": where.mailbox,
        "uid_validity": where.uid_validity,
        "uid": where.uid,
        "message_id": found.message_id if found else None,
        "from_email": found.from_email if found else None,
        "subject": found.subject if found else None,
        "received_at": iso(now),
        "kind": kind,
        "contact_id": hit.contact_id,
        "thread_id": hit.thread_id,
        "status": status,
        "detail": detail,
    }


def _write_row(conn: Connection, row: dict[str, object]) -> bool:
    """Insert the message's row; False when another poll stored this UID first."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(inbound_messages).on_conflict_do_nothing(
        index_elements=["mailbox", "uid_validity", "uid"]
    )
    return conn.execute(stmt.returning(inbound_messages.c.id), row).first() is not None


def _events(
    where: Where, found: Classified | None, hit: Match, outcome: Outcome, now: datetime
) -> list[AuditEvent]:
    """One `inbound` audit event per thread stopped (else one for the message)."""
    content = f"{outcome.kind} ({outcome.status}): {outcome.detail}"
    metadata: dict[str, Any] = {
        "kind": outcome.kind,
        "status": outcome.status,
        "contact_id": outcome.contact_id,
        "matched_by": hit.by,
        "mailbox": where.mailbox,
        "uid_validity": where.uid_validity,
        "uid": where.uid,
        "message_id": found.message_id if found else None,
        "stopped_threads": sorted(outcome.stopped),
    }
    threads: list[str | None] = [*sorted(outcome.stopped)] or [hit.thread_id]
    return [
        audit_event(
            "inbound",
            "contact" if outcome.contact_id else "mailbox",
            "coach",
            content + _stop_note(outcome, t),
            iso(now),
            thread_id=t,
            **metadata,
        )
        for t in threads
    ]


def _stop_note(outcome: Outcome, thread_id: str | None) -> str:
    if thread_id is None or thread_id not in outcome.stopped:
        return ""
    return f"; thread stopped, {outcome.stopped[thread_id]} scheduled send(s) withdrawn"
