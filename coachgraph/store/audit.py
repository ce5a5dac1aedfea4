"""The audit log: one row per event a person may later need to account for (SPEC §12)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from coachgraph.store.crm import CrmStore, audit_log

AUDIT_TYPES = (
    "delegation",
    "report",
    "decision",
    "send",
    "fail_open",
    "retry",
    "hold",
    "release",
    "inbound",
    "prompt_update",
)


def write_audit(
    conn: Connection,
    *,
    at: str,
    type: str,
    sender: str,
    receiver: str,
    content: str,
    metadata: dict[str, Any] | None = None,
    thread_id: str | None = None,
) -> None:
    """Append one audit row inside the caller's transaction (never a secret in it)."""
    if type not in AUDIT_TYPES:
        raise ValueError(f"unknown audit type {type!r}")
    conn.execute(
        audit_log.insert().values(
            at=at,
            type=type,
            sender=sender,
            receiver=receiver,
            content=content,
            metadata=json.dumps(metadata or {}, sort_keys=True),
            thread_id=thread_id,
        )
    )


def audit_rows(crm: CrmStore, type: str | None = None) -> list[dict[str, Any]]:
    """Audit rows, oldest first, optionally of one type."""
    query = select(audit_log).order_by(audit_log.c.id)
    if type:
        query = query.where(audit_log.c.type == type)
    with crm.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return [r | {"metadata": json.loads(r["metadata"])} for r in rows]
