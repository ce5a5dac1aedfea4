"""The retention watch list (SPEC §12): companies outreach holds off, and a person lifting one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from coachgraph.store.audit import write_events
from coachgraph.store.crm import CrmStore, contacts, enrollments, retention_watch
from schemas.errors import NotFoundError
from schemas.supervision import AuditEvent, audit_event
from schemas.values import iso


def retention_rows(crm: CrmStore) -> list[dict[str, Any]]:
    """Every watched company by domain, with its reason and how many threads it holds."""
    held = (
        select(contacts.c.company_domain.label("domain"), func.count().label("n"))
        .select_from(enrollments.join(contacts, contacts.c.id == enrollments.c.contact_id))
        .where(enrollments.c.status == "held")
        .group_by(contacts.c.company_domain)
        .subquery()
    )
    query = (
        select(
            retention_watch.c.company_domain,
            retention_watch.c.reason,
            func.coalesce(held.c.n, 0).label("held_threads"),
        )
        .select_from(
            retention_watch.outerjoin(held, held.c.domain == retention_watch.c.company_domain)
        )
        .order_by(retention_watch.c.company_domain)
    )
    with crm.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def remove_retention(crm: CrmStore, domain: str, now: datetime) -> dict[str, Any]:
    """Take a company off the watch list on a person's word, and audit it.

    Its held threads stay held until `lift_holds` runs (the CLI runs it at once).

    Raises:
        NotFoundError: the domain is not on the list.
    """
    wanted = domain.strip().lower()
    with crm.connect(write=True) as conn:
        deleted = conn.execute(
            retention_watch.delete()
            .where(retention_watch.c.company_domain == wanted)
            .returning(retention_watch.c.reason)
        ).first()
        if deleted is None:
            raise NotFoundError(
                f"{wanted!r} is not on the retention watch list (see `coachgraph retention list`)"
            )
        write_events(conn, [_lifted(wanted, deleted.reason, now)])
    return {"company_domain": wanted, "reason": deleted.reason}


def replace_retention(
    crm: CrmStore, rows: Sequence[Mapping[str, Any]], now: datetime
) -> dict[str, Any]:
    """Make the watch list exactly `rows` in one transaction; audit every domain it drops.

    `rows` are validated `{company_domain, reason}` rows with distinct domains.
    """
    wanted = {r["company_domain"] for r in rows}
    with crm.connect(write=True) as conn:
        old = _listed(conn)
        conn.execute(retention_watch.delete())
        if rows:
            values = [
                {"company_domain": r["company_domain"], "reason": r.get("reason")} for r in rows
            ]
            conn.execute(retention_watch.insert(), values)
        removed = sorted(set(old) - wanted)
        write_events(conn, [_lifted(d, old[d], now) for d in removed])
    return {"written": len(rows), "removed": removed}


def _listed(conn: Connection) -> dict[str, str | None]:
    query = select(retention_watch.c.company_domain, retention_watch.c.reason)
    return {domain: reason for domain, reason in conn.execute(query)}


def _lifted(domain: str, reason: str | None, now: datetime) -> AuditEvent:
    return audit_event(
        "hold",
        "person",
        "retention",
        f"retention watch lifted for {domain}",
        iso(now),
        company_domain=domain,
        reason=reason,
    )
