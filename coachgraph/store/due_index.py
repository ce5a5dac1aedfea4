"""The due index: one enrollment row per thread, with status, next due time and a lease.

Ticks select candidates here (an indexed query, not a scan of checkpoints), and
claim each with an expiring lease so that two ticks never run one thread at once.
The graph's checkpoint stays the truth; each run writes its outcome back here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from coachgraph.store.audit import write_events
from coachgraph.store.crm import CrmStore, campaigns, enrollments, outbox
from schemas.supervision import AuditEvent, Report
from schemas.values import iso

DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Claim:
    """A thread this process may run until the lease expires."""

    thread_id: str
    campaign_id: str
    contact_id: str
    enrolled_at: str
    attempts: int
    pending_decision: str | None = None
    """A person's decision (JSON) that a run was applying when its process died, if any."""


def due_threads(crm: CrmStore, now: datetime, limit: int) -> list[str]:
    """Active threads whose next touch is due, oldest first, but none of a paused campaign."""
    paused = select(campaigns.c.id).where(campaigns.c.status == "paused")
    query = (
        select(enrollments.c.thread_id)
        .where(
            enrollments.c.status == "active",
            enrollments.c.next_due_at <= iso(now),
            enrollments.c.campaign_id.not_in(paused),
        )
        .order_by(enrollments.c.next_due_at, enrollments.c.thread_id)
        .limit(limit)
    )
    with crm.connect() as conn:
        return list(conn.execute(query).scalars())


def claim(
    crm: CrmStore,
    thread_id: str,
    owner: str,
    lease: timedelta = DEFAULT_LEASE,
    statuses: tuple[str, ...] = ("active",),
    **also: Any,
) -> Claim | None:
    """Take the thread's lease if nobody holds a live one; None when another process has it.

    `also` sets more columns in the same atomic update (e.g. make the thread due, so a tick
    finishes the run if this process dies holding the lease).
    """
    wall = datetime.now(UTC)  # leases run on the real clock, whatever --now says
    stmt = (
        enrollments.update()
        .where(
            enrollments.c.thread_id == thread_id,
            enrollments.c.status.in_(statuses),
            or_(
                enrollments.c.lease_expires_at.is_(None), enrollments.c.lease_expires_at < iso(wall)
            ),
        )
        .values(lease_owner=owner, lease_expires_at=iso(wall + lease), **also)
        .returning(
            enrollments.c.thread_id,
            enrollments.c.campaign_id,
            enrollments.c.contact_id,
            enrollments.c.enrolled_at,
            enrollments.c.attempts,
            enrollments.c.pending_decision,
        )
    )
    with crm.connect(write=True) as conn:
        row = conn.execute(stmt).first()
    return Claim(*row) if row else None


def record(
    crm: CrmStore,
    thread_id: str,
    owner: str,
    audit: Sequence[AuditEvent] = (),
    **values: Any,
) -> None:
    """Write a run's outcome and release the lease, only if this owner still holds it.

    `audit` events are written in the same transaction, and only with the outcome. A
    released thread took its lease away, so nothing a run finishes afterwards is written.
    """
    if "plan" in values and not isinstance(values["plan"], str | None):
        values["plan"] = json.dumps(values["plan"])
    stmt = (
        enrollments.update()
        .where(
            and_(enrollments.c.thread_id == thread_id, enrollments.c.lease_owner == owner),
            enrollments.c.status != "released",
        )
        .values(
            lease_owner=None, lease_expires_at=None, updated_at=iso(datetime.now(UTC)), **values
        )
    )
    with crm.connect(write=True) as conn:
        if conn.execute(stmt).rowcount == 1:
            write_events(conn, audit)


def is_released(crm: CrmStore, thread_id: str) -> bool:
    """True once a person released the thread (a run checks between its steps)."""
    query = select(enrollments.c.status).where(enrollments.c.thread_id == thread_id)
    with crm.connect() as conn:
        return conn.execute(query).scalar() == "released"


def revive(crm: CrmStore, thread_id: str, now: datetime) -> bool:
    """Make a `failed` thread active and due now, with a fresh retry budget."""
    stmt = (
        enrollments.update()
        .where(enrollments.c.thread_id == thread_id, enrollments.c.status == "failed")
        .values(
            status="active",
            attempts=0,
            last_error=None,
            stop_reason=None,
            next_due_at=iso(now),
            updated_at=iso(datetime.now(UTC)),
        )
    )
    with crm.connect(write=True) as conn:
        return conn.execute(stmt).rowcount == 1


def get_enrollment(crm: CrmStore, thread_id: str) -> dict[str, Any] | None:
    """One enrollment row."""
    with crm.connect() as conn:
        row = conn.execute(select(enrollments).where(enrollments.c.thread_id == thread_id)).first()
    return dict(row._mapping) if row else None


def list_enrollments(
    crm: CrmStore, campaign_id: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Enrollment rows, optionally for one campaign or status."""
    query = select(enrollments).order_by(enrollments.c.campaign_id, enrollments.c.contact_id)
    if campaign_id:
        query = query.where(enrollments.c.campaign_id == campaign_id)
    if status:
        query = query.where(enrollments.c.status == status)
    with crm.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


LIVE_STATUSES = ("active", "awaiting_approval", "held")
WAITING = ("scheduled", "retry")
"""Outbox rows not yet (re)sent: for a window or cap, or after a soft bounce."""
"""A thread that has not ended: a stop, a pause or a release applies to it."""


def withdraw_scheduled(conn: Connection, thread_ids: Sequence[str], why: str) -> dict[str, int]:
    """Withdraw the threads' sends still waiting for a window or cap; how many per thread."""
    waiting = (outbox.c.thread_id.in_(list(thread_ids)), outbox.c.status.in_(WAITING))
    query = select(outbox.c.thread_id, func.count()).where(*waiting).group_by(outbox.c.thread_id)
    counts = {thread_id: int(n) for thread_id, n in conn.execute(query)}
    conn.execute(outbox.update().where(*waiting).values(status="withdrawn", error=why))
    return counts


def stop_threads(
    conn: Connection, thread_ids: Sequence[str], reason: str, report: Report | None = None
) -> dict[str, int]:
    """Stop live threads at once (a waiting draft is cancelled with its thread).

    Their scheduled sends are withdrawn; returns how many per thread. The lease is cleared,
    so a run in flight writes nothing more and its next send is refused at the fence.
    """
    if not thread_ids:
        return {}
    withdrawn = withdraw_scheduled(conn, thread_ids, f"the thread stopped: {reason}")
    conn.execute(
        enrollments.update()
        .where(
            enrollments.c.thread_id.in_(list(thread_ids)),
            enrollments.c.status.in_(LIVE_STATUSES),
        )
        .values(
            status="stopped",
            stop_reason=reason,
            next_due_at=None,
            lease_owner=None,
            lease_expires_at=None,
            pending_decision=None,
            last_report=json.dumps(report) if report else enrollments.c.last_report,
            updated_at=iso(datetime.now(UTC)),  # leases and updates run on the real clock
        )
    )
    return withdrawn
