"""The audit log: one row per event a person may later need to account for (SPEC §12)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from checkpoints.threads import parse_thread_id
from coachgraph.store.crm import CrmStore, audit_log
from schemas.errors import UserError
from schemas.supervision import AUDIT_TYPES, AuditEvent, AuditType, audit_event

AUDIT_COLUMNS = ("at", "thread_id", "sender", "receiver", "type", "content", "metadata")
"""The fields of `audit --json` (SPEC §16), in order."""


def write_audit(
    conn: Connection,
    *,
    at: str,
    type: AuditType,
    sender: str,
    receiver: str,
    content: str,
    metadata: dict[str, Any] | None = None,
    thread_id: str | None = None,
    campaign_id: str | None = None,
) -> None:
    """Append one audit row inside the caller's transaction (never a secret in it)."""
    event = audit_event(
        type,
        sender,
        receiver,
        content,
        at,
        thread_id=thread_id,
        campaign_id=campaign_id,
        **(metadata or {}),
    )
    write_events(conn, [event])


def write_events(conn: Connection, events: Sequence[AuditEvent]) -> None:
    """Append audit events inside the caller's transaction, in order."""
    if not events:
        return
    for event in events:
        if event["type"] not in AUDIT_TYPES:
            raise ValueError(f"unknown audit type {event['type']!r}")
    conn.execute(audit_log.insert(), [_row(e) for e in events])


def append_events(crm: CrmStore, events: Sequence[AuditEvent]) -> None:
    """Append audit events in a transaction of their own."""
    if events:
        with crm.connect(write=True) as conn:
            write_events(conn, events)


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event["at"],
        "type": event["type"],
        "sender": event["sender"],
        "receiver": event["receiver"],
        "content": event["content"],
        "metadata": json.dumps(event["metadata"], sort_keys=True, default=str),
        "thread_id": event["thread_id"],
        "campaign_id": event["campaign_id"] or campaign_of(event["thread_id"]),
    }


def campaign_of(thread_id: str | None) -> str | None:
    """The campaign a campaign thread id names, or None."""
    if not thread_id:
        return None
    try:
        return parse_thread_id(thread_id)[0]
    except UserError:  # not a campaign thread (a one-off draft's, say)
        return None


def audit_rows(
    crm: CrmStore,
    type: str | None = None,
    *,
    thread_id: str | None = None,
    campaign_id: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Audit rows, oldest first (the newest `limit` when given), optionally filtered.

    Raises:
        UserError: `type` is not an audit type.
    """
    if type is not None and type not in AUDIT_TYPES:
        raise UserError(f"unknown audit type {type!r}: use one of {', '.join(AUDIT_TYPES)}")
    query = select(audit_log)
    for column, value in (("type", type), ("thread_id", thread_id), ("campaign_id", campaign_id)):
        if value is not None:
            query = query.where(audit_log.c[column] == value)
    query = query.order_by(audit_log.c.id.desc() if limit else audit_log.c.id)
    if limit:
        query = query.limit(limit)
    with crm.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    rows = rows[::-1] if limit else rows
    return [r | {"metadata": json.loads(r["metadata"])} for r in rows]
