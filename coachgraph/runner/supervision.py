"""A person's authority over running campaigns (SPEC §12): release, pause, resume, holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from coachgraph.store.audit import write_events
from coachgraph.store.crm import (
    CrmStore,
    campaigns,
    contacts,
    enrollments,
    retention_watch,
)
from coachgraph.store.due_index import withdraw_scheduled
from schemas.errors import NotFoundError
from schemas.supervision import AuditEvent, audit_event, make_report
from schemas.values import iso


def lift_holds(crm: CrmStore, now: datetime) -> int:
    """Make held threads whose company left the retention watch list active and due now.

    Their graph recomputes the schedule when it runs: the next touch goes when its gap
    since the last touch has passed, at once if it passed during the hold.
    """
    listed = select(retention_watch.c.company_domain)
    free = select(contacts.c.id).where(
        contacts.c.company_domain.is_(None) | contacts.c.company_domain.not_in(listed)
    )
    query = select(enrollments.c.thread_id, enrollments.c.campaign_id).where(
        enrollments.c.status == "held", enrollments.c.contact_id.in_(free)
    )
    with crm.connect(write=True) as conn:
        rows = conn.execute(query).all()
        conn.execute(
            enrollments.update()
            .where(enrollments.c.status == "held", enrollments.c.contact_id.in_(free))
            .values(status="active", next_due_at=iso(now), stop_reason=None)
        )
        write_events(
            conn,
            [
                audit_event(
                    "hold",
                    "retention",
                    "coach",
                    "hold lifted: the company left the retention watch list",
                    iso(now),
                    thread_id=thread_id,
                    campaign_id=campaign_id,
                    lifted=True,
                )
                for thread_id, campaign_id in rows
            ],
        )
    return len(rows)


def release(
    crm: CrmStore, campaign_id: str, contact_id: str | None, now: datetime
) -> list[dict[str, Any]]:
    """End a campaign's subtree (or one contact's thread) for good, and say how each exited.

    Pending approvals are cancelled, scheduled sends withdrawn, and live threads
    `released`; a run in flight stops at its next step and a send in progress is waited
    for (its enrollment row is locked until it is recorded). Ended threads are left as
    they ended. Releasing again changes nothing.

    Raises:
        NotFoundError: no such campaign, or the contact is not enrolled in it.
    """
    _require_scope(crm, campaign_id, contact_id)
    wall = iso(datetime.now(UTC))  # leases run on the real clock
    scope = [enrollments.c.campaign_id == campaign_id]
    if contact_id is not None:
        scope.append(enrollments.c.contact_id == contact_id)
    with crm.connect(write=True) as conn:
        _lock_campaign(conn, campaign_id)
        locked = select(enrollments).where(*scope).with_for_update()  # Postgres: no tick between
        rows = [dict(r._mapping) for r in conn.execute(locked)]
        live = [r for r in rows if r["status"] in RELEASABLE]
        withdrawn = withdraw_scheduled(conn, [r["thread_id"] for r in live], "released")
        exits = {r["thread_id"]: _exit(r, wall) for r in live}
        _mark_released(conn, live, exits, now)
        write_events(conn, [_release_event(r, exits, withdrawn, now) for r in live])
    return [_outcome(r, exits, withdrawn) for r in sorted(rows, key=lambda r: r["thread_id"])]


RELEASABLE = ("active", "awaiting_approval", "held", "failed")
"""Statuses a release ends; completed, stopped and released threads have ended already."""


def _require_scope(crm: CrmStore, campaign_id: str, contact_id: str | None) -> None:
    if crm.get_campaign(campaign_id) is None:
        raise NotFoundError(f"unknown campaign id {campaign_id!r}")
    if contact_id is None:
        return
    if crm.get_contact(contact_id) is None:
        raise NotFoundError(f"unknown contact id {contact_id!r}")
    query = select(enrollments.c.thread_id).where(
        enrollments.c.campaign_id == campaign_id, enrollments.c.contact_id == contact_id
    )
    with crm.connect() as conn:
        if conn.execute(query).first() is None:
            raise NotFoundError(f"contact {contact_id!r} is not enrolled in {campaign_id!r}")


def _lock_campaign(conn: Connection, campaign_id: str) -> None:
    """Take the write lock first (SQLite) and the campaign row (Postgres) for the release."""
    conn.execute(
        campaigns.update().where(campaigns.c.id == campaign_id).values(status=campaigns.c.status)
    )


def _exit(row: dict[str, Any], wall: str) -> str:
    """`interrupted` when the thread was mid-run or waiting on a person, else `clean`."""
    running = row["lease_owner"] is not None and (row["lease_expires_at"] or "") > wall
    waiting = row["status"] == "awaiting_approval" or row["pending_decision"] is not None
    return "interrupted" if running or waiting else "clean"


def _mark_released(
    conn: Connection, rows: list[dict[str, Any]], exits: dict[str, str], now: datetime
) -> None:
    for row in rows:
        exit_ = exits[row["thread_id"]]
        report = make_report("partial", f"released by a person ({exit_})", iso(now), "person")
        conn.execute(
            enrollments.update()
            .where(enrollments.c.thread_id == row["thread_id"])
            .values(
                status="released",
                next_due_at=None,
                lease_owner=None,
                lease_expires_at=None,
                pending_decision=None,
                stop_reason=f"released by a person (was {row['status']})",
                last_report=json.dumps(report),
                updated_at=iso(datetime.now(UTC)),
            )
        )


def _release_event(
    row: dict[str, Any], exits: dict[str, str], withdrawn: dict[str, int], now: datetime
) -> AuditEvent:
    thread_id = row["thread_id"]
    return audit_event(
        "release",
        "person",
        "coach",
        f"released ({exits[thread_id]}; was {row['status']})",
        iso(now),
        thread_id=thread_id,
        campaign_id=row["campaign_id"],
        exit=exits[thread_id],
        was=row["status"],
        cancelled_approvals=int(row["status"] == "awaiting_approval"),
        withdrawn_sends=withdrawn.get(thread_id, 0),
    )


def _outcome(
    row: dict[str, Any], exits: dict[str, str], withdrawn: dict[str, int]
) -> dict[str, Any]:
    """One line of `release --json`."""
    thread_id = row["thread_id"]
    released_now = thread_id in exits
    return {
        "thread_id": thread_id,
        "contact_id": row["contact_id"],
        "exit": exits.get(thread_id, "clean"),
        "cancelled_approvals": int(released_now and row["status"] == "awaiting_approval"),
        "withdrawn_sends": withdrawn.get(thread_id, 0),
        "status": "released" if released_now else row["status"],
        "already_ended": not released_now,
    }


def set_paused(crm: CrmStore, campaign_id: str, paused: bool, now: datetime) -> dict[str, Any]:
    """Stop or restart ticking a campaign; nothing ends, nothing is lost. Idempotent.

    Raises:
        NotFoundError: no such campaign.
    """
    campaign = crm.get_campaign(campaign_id)
    if campaign is None:
        raise NotFoundError(f"unknown campaign id {campaign_id!r}")
    status = "paused" if paused else "active"
    changed = (campaign.get("status") or "active") != status
    with crm.connect(write=True) as conn:
        conn.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(status=status))
        if changed:
            word = "paused" if paused else "resumed"
            write_events(
                conn,
                [
                    audit_event(
                        "decision",
                        "person",
                        "coach",
                        f"campaign {campaign_id} {word}",
                        iso(now),
                        campaign_id=campaign_id,
                        decision=word,
                    )
                ],
            )
    return {"campaign_id": campaign_id, "status": status, "changed": changed}
