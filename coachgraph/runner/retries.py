"""Soft-bounced messages go again (SPEC §11a), under the same key and Message-ID.

Never to a contact who may no longer be emailed, and each attempt at most once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from coachgraph.runner.door import CrmDoor
from coachgraph.store.crm import CrmStore, enrollments, outbox
from coachgraph.store.due_index import LIVE_STATUSES
from nodes.campaign.send_touch import why_not_send
from schemas.context import Context
from schemas.door import Send
from schemas.values import iso


def send_retries(context: Context, now: datetime) -> int:
    """Send every soft-bounced message whose retry time has come; how many went out."""
    crm = CrmStore(context.db_url)
    door = CrmDoor(context.replace(now=iso(now)))
    return sum(_retry(crm, door, row) for row in _due(crm, now))


def _due(crm: CrmStore, now: datetime) -> list[dict[str, Any]]:
    query = (
        select(
            outbox,
            enrollments.c.contact_id,
            enrollments.c.campaign_id,
            enrollments.c.status.label("thread_status"),
        )
        .join(enrollments, enrollments.c.thread_id == outbox.c.thread_id)
        .where(outbox.c.status == "retry", outbox.c.scheduled_for <= iso(now))
        .order_by(outbox.c.scheduled_for, outbox.c.idempotency_key)
    )
    with crm.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _retry(crm: CrmStore, door: CrmDoor, row: dict[str, Any]) -> bool:
    standing = crm.standing(row["contact_id"], row["to_email"])
    why = why_not_send(standing, row["to_email"])
    if why is None and row["thread_status"] not in LIVE_STATUSES:
        why = f"the thread is {row['thread_status']}"
    if why is not None:
        _set(crm, row["idempotency_key"], "withdrawn", None, f"not sent again: {why}")
        return False
    contact = standing.contact
    send = Send(
        thread_id=row["thread_id"],
        touch=row["touch"],
        campaign_id=row["campaign_id"],
        to=row["to_email"],
        subject=row["subject"],
        body=row["body"],
        edited=True,  # the subject stays exactly as it was first sent
        timezone=contact["timezone"] if contact else None,
        contact_id=row["contact_id"],
    )
    delivery = door.deliver(send)
    if delivery.outcome == "scheduled":  # a closed window or a full cap: wait for its slot
        _set(crm, row["idempotency_key"], "retry", iso(delivery.at), "soft bounce: waiting")
    return delivery.outcome == "sent"


def _set(crm: CrmStore, key: str, status: str, scheduled_for: str | None, note: str) -> None:
    with crm.connect(write=True) as conn:
        conn.execute(
            outbox.update()
            .where(outbox.c.idempotency_key == key)
            .values(status=status, scheduled_for=scheduled_for, error=note)
        )
