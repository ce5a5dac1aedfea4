"""The outbox: one row per (thread, touch) makes every send at-most-once.

A row moves `sending` → `sent` around the transport call. A row found still
`sending` (or `unknown`) means an earlier process died between handing the
message over and recording the outcome: it is marked `unknown` and never sent
again by a thread. A person settles it (`reconcile`): delivered makes it `sent`;
not delivered sends it once more under the same key. A `failed` row (definitely
refused) may be retried.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, func, select

from coachgraph.mail.errors import RecipientRejected, SendAmbiguous, SendRefused
from coachgraph.mail.message import OutgoingEmail, build_message
from coachgraph.mail.pacing import Slot, wait_until
from coachgraph.mail.transport import Transport
from coachgraph.store.audit import write_audit, write_events
from coachgraph.store.crm import CrmStore, enrollments, outbox, utcnow_iso
from schemas.door import Delivery, Outcome
from schemas.errors import NotFoundError, UserError
from schemas.supervision import AuditEvent
from schemas.values import iso, parse_instant


def idempotency_key(thread_id: str, touch: int) -> str:
    """The one key a (thread, touch) may ever be sent under."""
    return f"{thread_id}:touch:{touch}"


def outbox_row(crm: CrmStore, key: str) -> dict[str, Any] | None:
    """The outbox row for a key, if any."""
    with crm.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.idempotency_key == key)).first()
    return dict(row._mapping) if row else None


def deliver(
    crm: CrmStore,
    transport: Transport,
    email: OutgoingEmail,
    thread_id: str,
    touch: int,
    audit: AuditEvent | None = None,
    slot: Slot | None = None,
) -> Delivery:
    """Send once: skip what was sent, quarantine what may have been, send the rest.

    Returns the outcome, when the send was really attempted (an earlier crashed try's
    time) and the Message-ID, computed once. The outcome and `audit` (the send's audit
    row) are written in one transaction; a thread released before the send is
    `withdrawn` instead, and a release waits for a send in progress to be recorded.
    Outside its send window, or past its mailbox's cap or pacing (`slot`), the row is
    `scheduled` and the delivery says until when. A 5xx for the recipient is `bounced`.

    Raises:
        SendRefused: the server refused the message for now (the row is `failed`).
    """
    row = outbox_row(crm, email.idempotency_key)
    if row is not None and row["status"] in ("sent", "sending", "unknown"):
        return _settled(crm, row, email)
    message = build_message(email)  # a malformed message fails here, before any claim
    message_id = str(message["Message-ID"])
    wait = _claim(crm, email, message_id, thread_id, touch, exists=row is not None, slot=slot)
    if wait is not None:
        return Delivery("scheduled", wait, message_id)
    refused: SendRefused | None = None
    with crm.connect(write=True) as conn:
        # Holds the enrollment row (Postgres) or the write lock (SQLite) until the outcome
        # is recorded: a release either comes first (nothing is sent) or waits for this.
        if _released(conn, thread_id):
            status, error = "withdrawn", "the thread was released or stopped before the send"
        else:
            try:
                transport.send(message)
                status, error = "sent", None
            except SendAmbiguous as exc:
                status, error = "unknown", str(exc)
            except RecipientRejected as exc:  # a hard bounce: never retried
                status, error = "bounced", str(exc)
            except SendRefused as exc:
                status, error, refused = "failed", str(exc), exc
        conn.execute(
            outbox.update()
            .where(outbox.c.idempotency_key == email.idempotency_key)
            .values(status=status, error=error)
        )
        if audit is not None:
            write_events(conn, [_send_event(audit, status, error, message_id)])
    if refused is not None:
        raise refused
    return Delivery(cast(Outcome, status), email.sent_at, message_id)


def _released(conn: Connection, thread_id: str) -> bool:
    """Lock the thread's enrollment row; True when it was released or stopped meanwhile."""
    conn.execute(
        enrollments.update()
        .where(enrollments.c.thread_id == thread_id)
        .values(updated_at=utcnow_iso())
    )
    status = conn.execute(
        select(enrollments.c.status).where(enrollments.c.thread_id == thread_id)
    ).scalar()
    return status in ("released", "stopped")


def _send_event(audit: AuditEvent, status: str, error: str | None, message_id: str) -> AuditEvent:
    outcome = {
        "sent": "sent",
        "unknown": "may have been sent",
        "failed": "refused",
        "bounced": "refused for the recipient (hard bounce)",
    }
    content = f"{audit['content']}: {outcome.get(status, status)}"
    metadata = audit["metadata"] | {"status": status, "message_id": message_id, "error": error}
    return audit | {"content": content, "metadata": metadata}


def _settled(crm: CrmStore, row: dict[str, Any], email: OutgoingEmail) -> Delivery:
    """What an earlier attempt left: sent stays sent; one cut short becomes `unknown`."""
    at = parse_instant(row["sent_at"]) if row["sent_at"] else email.sent_at
    if row["status"] == "sent":
        return Delivery("sent", at, row["message_id"])
    _set_status(crm, email.idempotency_key, "unknown", error="process stopped mid-send")
    return Delivery("unknown", at, row["message_id"])


def _claim(
    crm: CrmStore,
    email: OutgoingEmail,
    message_id: str,
    thread_id: str,
    touch: int,
    exists: bool,
    slot: Slot | None,
) -> datetime | None:
    """Take the row to send now (`sending`), or schedule it; returns until when it waits."""
    values = {
        "thread_id": thread_id,
        "touch": touch,
        "to_email": email.to,
        "subject": email.subject,
        "body": email.body,
        "message_id": message_id,
        "status": "sending",
        "sent_at": iso(email.sent_at),  # when it was attempted; kept if the outcome is unknown
        "error": None,
        "created_at": utcnow_iso(),
    }
    key = email.idempotency_key
    with crm.connect(write=True) as conn:
        wait = wait_until(conn, slot, email.sent_at) if slot is not None else None
        if wait is not None:
            values |= {"status": "scheduled", "scheduled_for": iso(wait), "sent_at": None}
        if slot is not None:
            values["mailbox"] = slot.mailbox
        if exists:
            conn.execute(outbox.update().where(outbox.c.idempotency_key == key).values(**values))
        else:
            conn.execute(outbox.insert().values(idempotency_key=key, **values))
    return wait


def earlier_sends(crm: CrmStore, thread_id: str, touch: int) -> list[tuple[str, str]]:
    """(Message-ID, subject) of the thread's touches before `touch` that went out, in order."""
    query = (
        select(outbox.c.message_id, outbox.c.subject)
        .where(
            outbox.c.thread_id == thread_id,
            outbox.c.touch < touch,
            outbox.c.status.in_(("sent", "unknown")),
        )
        .order_by(outbox.c.touch)
    )
    with crm.connect() as conn:
        return [(m, s) for m, s in conn.execute(query)]


def _set_status(crm: CrmStore, key: str, status: str, *, error: str | None = None) -> None:
    with crm.connect(write=True) as conn:
        conn.execute(
            outbox.update()
            .where(outbox.c.idempotency_key == key)
            .values(status=status, error=error)
        )


def unknown_row(crm: CrmStore, key: str) -> dict[str, Any]:
    """The row a person may reconcile, or an error naming why this one cannot be.

    Raises:
        NotFoundError: no outbox row has this key.
        UserError: the row is not `unknown`.
    """
    row = outbox_row(crm, key)
    if row is None:
        raise NotFoundError(f"unknown outbox key {key!r} (see `coachgraph outbox`)")
    if row["status"] != "unknown":
        raise UserError(f"outbox row {key} is {row['status']}, not unknown: nothing to reconcile")
    return row


def settle(crm: CrmStore, key: str, status: str, at: str, note: str) -> None:
    """Move an `unknown` row to `status` on a person's word, audited in one transaction.

    Raises:
        UserError: another process settled the row first.
    """
    with crm.connect(write=True) as conn:
        _move(conn, key, "unknown", status, error=None if status == "sent" else note)
        write_audit(
            conn,
            at=at,
            type="decision",
            sender="person",
            receiver="sender",
            content=f"outbox {key} reconciled: {note}",
            metadata={"idempotency_key": key, "status": status},
        )


def resend(crm: CrmStore, transport: Transport, email: OutgoingEmail) -> Outcome:
    """Send an `unknown` row once more after a person said it was not delivered.

    The row is taken `unknown` → `sending` atomically, so two reconciles never both send.

    Raises:
        UserError: the row was taken meanwhile, or the server refused the message (the row
            stays `unknown`, to reconcile again later).
    """
    message = build_message(email)
    key = email.idempotency_key
    with crm.connect(write=True) as conn:
        _move(conn, key, "unknown", "sending", error=None, sent_at=iso(email.sent_at))
    try:
        transport.send(message)
    except SendAmbiguous as exc:
        _set_status(crm, key, "unknown", error=str(exc))
        return "unknown"
    except SendRefused as exc:
        _set_status(crm, key, "unknown", error=str(exc))
        raise UserError(f"{exc}; {key} stays unknown: reconcile it again later") from None
    _set_status(crm, key, "sent")
    return "sent"


def _move(conn: Connection, key: str, old: str, new: str, **values: Any) -> None:
    moved = conn.execute(
        outbox.update()
        .where(outbox.c.idempotency_key == key, outbox.c.status == old)
        .values(status=new, **values)
    )
    if moved.rowcount != 1:
        raise UserError(f"outbox row {key} changed meanwhile (no longer {old}); look again")


def outcome_counts(crm: CrmStore) -> dict[str, dict[str, int]]:
    """Per thread, how many touches are `sent` and how many `unknown`."""
    query = (
        select(outbox.c.thread_id, outbox.c.status, func.count())
        .where(outbox.c.status.in_(("sent", "unknown", "retry")))
        .group_by(outbox.c.thread_id, outbox.c.status)
    )
    counts: dict[str, dict[str, int]] = {}
    with crm.connect() as conn:
        for thread_id, status, n in conn.execute(query):
            kind = "sent" if status == "retry" else status  # it was delivered once already
            tally = counts.setdefault(thread_id, {"sent": 0, "unknown": 0})
            tally[kind] += n
    return counts


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
            "status": _SHOWN_AS.get(r["status"], r["status"]),
            "sent_at": r["sent_at"],
            "error": r["error"],
            "bounced": r["status"] == "bounced",
            "retry": r["status"] == "retry",
            "scheduled_for": r["scheduled_for"],
        }
        for r in rows
    ]


SHOWN = ("sent", "unknown", "scheduled", "failed", "bounced", "retry")
_SHOWN_AS = {"bounced": "failed", "retry": "scheduled"}
"""What `coachgraph outbox` lists: all but rows withdrawn before they went out."""
