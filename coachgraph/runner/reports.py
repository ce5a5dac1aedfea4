"""Outcomes for a person (SPEC §12, §16): what waits on them, the audit log, campaign numbers."""

from __future__ import annotations

import json
from collections.abc import Callable
from statistics import median
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Float,
    Select,
    String,
    case,
    cast,
    false,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from coachgraph.store.audit import AUDIT_COLUMNS, audit_rows
from coachgraph.store.crm import (
    CrmStore,
    audit_log,
    contacts,
    enrollments,
    inbound_messages,
    outbox,
)
from coachgraph.store.due_index import LIVE_STATUSES
from schemas.errors import NotFoundError

AttentionKind = Literal["failed", "needs_attention", "unknown_send", "unmatched_inbound"]
"""What waits on a person besides an ordinary draft."""
FLAGS = ("replied", "bounced", "unsubscribed")
"""Contact flags the funnel counts, each at the last touch the contact was sent."""
FUNNEL = ("sent", *FLAGS, "failed")
"""The counts of one `campaign report` touch row, in order."""


def attention_rows(crm: CrmStore) -> list[dict[str, Any]]:
    """Everything waiting on a person that is not an ordinary draft, oldest first."""
    with crm.connect() as conn:
        rows = [row for source in ATTENTION_SOURCES for row in source(conn)]
    return sorted(rows, key=lambda r: (r["at"] or "", r["kind"], r["thread_id"] or ""))


def _row(
    kind: AttentionKind,
    thread_id: str | None,
    contact_id: str | None,
    reason: str,
    at: str | None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "thread_id": thread_id,
        "contact_id": contact_id,
        "reason": reason,
        "at": at,
    }


def _report(text: str | None) -> dict[str, Any]:
    """An enrollment's `last_report` (JSON text, maybe `null`) as a dict."""
    return json.loads(text or "null") or {}


def _failed_threads(conn: Connection) -> list[dict[str, Any]]:
    """Threads whose retry budget is spent: a person retries or releases them."""
    query = select(enrollments).where(enrollments.c.status == "failed")
    return [
        _row(
            "failed",
            e.thread_id,
            e.contact_id,
            e.stop_reason or e.last_error or "failed",
            _report(e.last_report).get("at") or e.updated_at,
        )
        for e in conn.execute(query)
    ]


def _flagged_threads(conn: Connection) -> list[dict[str, Any]]:
    """Live threads whose last report needs a person (a flagged draft, an unsure send)."""
    status = json_field(conn, enrollments.c.last_report, "status", String())
    query = select(enrollments).where(
        enrollments.c.status.in_(LIVE_STATUSES), status == "needs_attention"
    )
    rows = []
    for e in conn.execute(query):
        report = _report(e.last_report)
        rows.append(
            _row("needs_attention", e.thread_id, e.contact_id, report["summary"], report["at"])
        )
    return rows


def _unknown_sends(conn: Connection) -> list[dict[str, Any]]:
    """Sends that may or may not have gone: only a person can say which."""
    query = (
        select(outbox, enrollments.c.contact_id)
        .select_from(outbox.outerjoin(enrollments, enrollments.c.thread_id == outbox.c.thread_id))
        .where(outbox.c.status == "unknown")
    )
    return [
        _row(
            "unknown_send",
            o.thread_id,
            o.contact_id,
            f"touch {o.touch} to {o.to_email} may have been sent (key {o.idempotency_key}): "
            f"run `coachgraph outbox reconcile {o.idempotency_key} --delivered|--not-delivered`",
            o.sent_at or o.created_at,
        )
        for o in conn.execute(query)
    ]


def _unmatched_inbound(conn: Connection) -> list[dict[str, Any]]:
    """Inbound mail no contact or thread matched (`inbox poll`): a person reads it."""
    query = select(inbound_messages).where(inbound_messages.c.status == "unmatched")
    return [
        _row(
            "unmatched_inbound",
            None,
            None,
            f"unmatched {m.kind.replace('_', ' ')} from {m.from_email or 'an unknown sender'}: "
            f"{m.subject or '(no subject)'!r} (`coachgraph inbox list --unmatched`)",
            m.received_at,
        )
        for m in conn.execute(query.order_by(inbound_messages.c.id))
    ]


ATTENTION_SOURCES: tuple[Callable[[Connection], list[dict[str, Any]]], ...] = (
    _failed_threads,
    _flagged_threads,
    _unknown_sends,
    _unmatched_inbound,
)
"""Each reads one kind of attention row."""


def json_field(
    conn: Connection, column: ColumnElement[Any], key: str, type_: TypeEngine[Any]
) -> ColumnElement[Any]:
    """One top-level field of a JSON text column, as `type_`, in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return cast(cast(column, JSONB)[key].astext, type_)
    return type_coerce(func.json_extract(column, f"$.{key}"), type_)


def audit_log_rows(
    crm: CrmStore,
    type: str | None = None,
    *,
    thread_id: str | None = None,
    campaign_id: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The `audit --json` rows, oldest first, after checking each filter names something.

    Raises:
        UserError: `type` is not an audit type (from `audit_rows`).
        NotFoundError: no such campaign, or no thread of that id (enrolled or audited).
    """
    if campaign_id is not None and crm.get_campaign(campaign_id) is None:
        raise NotFoundError(f"unknown campaign id {campaign_id!r}")
    if thread_id is not None and not _known_thread(crm, thread_id):
        raise NotFoundError(f"unknown thread id {thread_id!r} (see `coachgraph status`)")
    rows = audit_rows(crm, type, thread_id=thread_id, campaign_id=campaign_id, limit=limit)
    return [{k: r[k] for k in AUDIT_COLUMNS} for r in rows]


def _known_thread(crm: CrmStore, thread_id: str) -> bool:
    enrolled = select(enrollments.c.thread_id).where(enrollments.c.thread_id == thread_id)
    audited = select(audit_log.c.thread_id).where(audit_log.c.thread_id == thread_id)
    with crm.connect() as conn:
        return conn.execute(enrolled.union_all(audited).limit(1)).first() is not None


def campaign_report(
    crm: CrmStore, campaign_id: str, usd_per_mtok_in: float, usd_per_mtok_out: float
) -> dict[str, Any]:
    """A campaign's per-touch funnel, approval latency, edit rate, tokens and cost (SPEC §16).

    Raises:
        NotFoundError: no such campaign.
    """
    if crm.get_campaign(campaign_id) is None:
        raise NotFoundError(f"unknown campaign id {campaign_id!r}")
    with crm.connect() as conn:
        counts = _touch_counts(conn, campaign_id)
        latencies = _latencies(conn, campaign_id)
        decisions = _decisions(conn, campaign_id)
        prompt, completion = _tokens(conn, campaign_id)
    cost = (prompt * usd_per_mtok_in + completion * usd_per_mtok_out) / 1_000_000
    return {
        "campaign_id": campaign_id,
        "touches": touch_rows(counts),
        "approval_latency_s_median": median(latencies) if latencies else None,
        "edit_rate": edit_rate(decisions),
        "tokens": prompt + completion,
        "cost_usd": round(cost, 6),
    }


Counts = dict[tuple[int, str], int]
"""(touch, funnel column) → how many."""


def touch_rows(counts: Counts) -> list[dict[str, int]]:
    """One funnel row per touch from 1 to the highest seen, zeros where nothing happened."""
    last = max((touch for touch, _ in counts), default=0)
    return [
        {"touch": t} | {column: counts.get((t, column), 0) for column in FUNNEL}
        for t in range(1, last + 1)
    ]


def edit_rate(decisions: dict[str, int]) -> float | None:
    """Edits among the drafts a person let go (accepted or edited), or None before any."""
    let_go = decisions.get("accept", 0) + decisions.get("edit", 0)
    return round(decisions.get("edit", 0) / let_go, 3) if let_go else None


def _touch_counts(conn: Connection, campaign_id: str) -> Counts:
    counts: Counts = {}
    for touch, column, n in [
        *_outbox_counts(conn, campaign_id),
        *_flag_counts(conn, campaign_id),
        *_failed_enrollments(conn, campaign_id),
    ]:
        counts[(int(touch), column)] = counts.get((int(touch), column), 0) + int(n or 0)
    return counts


def _threads(campaign_id: str) -> Select[tuple[str]]:
    return select(enrollments.c.thread_id).where(enrollments.c.campaign_id == campaign_id)


def _outbox_counts(conn: Connection, campaign_id: str) -> list[tuple[int, str, int]]:
    """Sent and refused messages per touch."""
    query = (
        select(outbox.c.touch, outbox.c.status, func.count())
        .where(
            outbox.c.thread_id.in_(_threads(campaign_id)), outbox.c.status.in_(("sent", "failed"))
        )
        .group_by(outbox.c.touch, outbox.c.status)
    )
    return [(t, s, n) for t, s, n in conn.execute(query)]


def _flag_counts(conn: Connection, campaign_id: str) -> list[tuple[int, str, int]]:
    """Replies, bounces and unsubscribes, each at the last touch sent to that contact."""
    last = (
        select(outbox.c.thread_id, func.max(outbox.c.touch).label("touch"))
        .where(outbox.c.thread_id.in_(_threads(campaign_id)), outbox.c.status == "sent")
        .group_by(outbox.c.thread_id)
        .subquery()
    )
    sums = [func.sum(case((contacts.c[flag], 1), else_=0)) for flag in FLAGS]
    query = (
        select(last.c.touch, *sums)
        .select_from(
            enrollments.join(last, last.c.thread_id == enrollments.c.thread_id).join(
                contacts, contacts.c.id == enrollments.c.contact_id
            )
        )
        .where(enrollments.c.campaign_id == campaign_id)
        .group_by(last.c.touch)
    )
    return [
        (row[0], flag, row[i]) for row in conn.execute(query) for i, flag in enumerate(FLAGS, 1)
    ]


def _failed_enrollments(conn: Connection, campaign_id: str) -> list[tuple[int, str, int]]:
    """Threads that failed, at the touch they were working on."""
    query = (
        select(enrollments.c.touches_sent, func.count())
        .where(enrollments.c.campaign_id == campaign_id, enrollments.c.status == "failed")
        .group_by(enrollments.c.touches_sent)
    )
    return [((sent or 0) + 1, "failed", n) for sent, n in conn.execute(query)]


def _audited(campaign_id: str, type: str) -> list[ColumnElement[bool]]:
    return [audit_log.c.campaign_id == campaign_id, audit_log.c.type == type]


def _latencies(conn: Connection, campaign_id: str) -> list[float]:
    """Seconds from draft to decision, for every decision that has them."""
    latency = json_field(conn, audit_log.c.metadata, "latency_s", Float())
    query = select(latency).where(*_audited(campaign_id, "decision"), latency.is_not(None))
    return [float(v) for v in conn.execute(query).scalars()]


def _decisions(conn: Connection, campaign_id: str) -> dict[str, int]:
    """How many decisions of each kind a person made on drafts not refused."""
    decision = json_field(conn, audit_log.c.metadata, "decision", String())
    refused = json_field(conn, audit_log.c.metadata, "refused", Boolean())
    query = (
        select(decision, func.count())
        .where(*_audited(campaign_id, "decision"), func.coalesce(refused, false()) == false())
        .group_by(decision)
    )
    return {str(d): int(n) for d, n in conn.execute(query) if d is not None}


def _tokens(conn: Connection, campaign_id: str) -> tuple[int, int]:
    """Prompt and completion tokens the campaign's runs reported."""
    totals = [
        func.coalesce(func.sum(json_field(conn, audit_log.c.metadata, key, Float())), 0)
        for key in ("prompt_tokens", "completion_tokens")
    ]
    prompt, completion = conn.execute(select(*totals).where(*_audited(campaign_id, "report"))).one()
    return int(prompt), int(completion)
