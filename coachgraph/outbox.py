"""The outbox: one row per (thread, touch) makes every send at-most-once.

A row moves `sending` → `sent` around the transport call. A row found still
`sending` (or `unknown`) means an earlier process died between handing the
message over and recording the outcome: it is marked `unknown` for a person to
reconcile and never sent again. A `failed` row (definitely refused) may be retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from coachgraph.clock import iso, parse_instant
from coachgraph.crm import CrmStore, outbox, utcnow_iso
from coachgraph.sending import (
    OutgoingEmail,
    SendAmbiguous,
    SendRefused,
    Transport,
    build_message,
    message_id_for,
)

Outcome = Literal["sent", "unknown"]


@dataclass(frozen=True)
class Delivery:
    """How a send ended, and when it was really attempted (an earlier crashed try's time)."""

    outcome: Outcome
    at: datetime


def idempotency_key(thread_id: str, touch: int) -> str:
    """The one key a (thread, touch) may ever be sent under."""
    return f"{thread_id}:touch:{touch}"


def outbox_row(crm: CrmStore, key: str) -> dict[str, Any] | None:
    """The outbox row for a key, if any."""
    with crm.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.idempotency_key == key)).first()
    return dict(row._mapping) if row else None


def deliver(
    crm: CrmStore, transport: Transport, email: OutgoingEmail, thread_id: str, touch: int
) -> Delivery:
    """Send once: skip what was sent, quarantine what may have been, send the rest."""
    row = outbox_row(crm, email.idempotency_key)
    earlier = parse_instant(row["sent_at"]) if row is not None and row["sent_at"] else None
    if row is not None and row["status"] == "sent":
        return Delivery("sent", earlier or email.sent_at)
    if row is not None and row["status"] in ("sending", "unknown"):
        _set_status(crm, email.idempotency_key, "unknown", error="process stopped mid-send")
        return Delivery("unknown", earlier or email.sent_at)
    message = build_message(email)  # a malformed message fails here, before any claim
    _claim(crm, email, thread_id, touch, exists=row is not None)
    try:
        transport.send(message)
    except SendAmbiguous as exc:
        _set_status(crm, email.idempotency_key, "unknown", error=str(exc))
        return Delivery("unknown", email.sent_at)
    except SendRefused as exc:
        _set_status(crm, email.idempotency_key, "failed", error=str(exc))
        raise
    _set_status(crm, email.idempotency_key, "sent")
    return Delivery("sent", email.sent_at)


def _claim(crm: CrmStore, email: OutgoingEmail, thread_id: str, touch: int, exists: bool) -> None:
    values = {
        "thread_id": thread_id,
        "touch": touch,
        "to_email": email.to,
        "subject": email.subject,
        "body": email.body,
        "message_id": message_id_for(email.idempotency_key, email.sender_email),
        "status": "sending",
        "sent_at": iso(email.sent_at),  # when it was attempted; kept if the outcome is unknown
        "error": None,
        "created_at": utcnow_iso(),
    }
    key = email.idempotency_key
    with crm.connect(write=True) as conn:
        if exists:
            conn.execute(outbox.update().where(outbox.c.idempotency_key == key).values(**values))
        else:
            conn.execute(outbox.insert().values(idempotency_key=key, **values))


def _set_status(crm: CrmStore, key: str, status: str, *, error: str | None = None) -> None:
    with crm.connect(write=True) as conn:
        conn.execute(
            outbox.update()
            .where(outbox.c.idempotency_key == key)
            .values(status=status, error=error)
        )


def list_outbox(
    crm: CrmStore, statuses: tuple[str, ...] = ("sent", "unknown")
) -> list[dict[str, Any]]:
    """Sent and ambiguous messages, oldest first (the `outbox --json` shape)."""
    query = (
        select(outbox)
        .where(outbox.c.status.in_(statuses))
        .order_by(outbox.c.sent_at, outbox.c.idempotency_key)
    )
    with crm.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return [
        {
            "idempotency_key": r["idempotency_key"],
            "thread_id": r["thread_id"],
            "touch": r["touch"],
            "to": r["to_email"],
            "subject": r["subject"],
            "message_id": r["message_id"],
            "status": r["status"],
            "sent_at": r["sent_at"],
            "error": r["error"],
        }
        for r in rows
    ]
