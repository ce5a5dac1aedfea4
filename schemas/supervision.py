"""Outcomes flowing up (SPEC §12): structured reports, and the audit events that record them."""

from __future__ import annotations

from typing import Any, Literal, TypedDict, get_args

ReportStatus = Literal["success", "partial", "failed", "needs_attention"]
AuditType = Literal[
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
]
AUDIT_TYPES: tuple[AuditType, ...] = get_args(AuditType)

ROOT_DEPTH = 1
"""Hand-offs before a run a person started directly (person → coach, person → orchestrator)."""


class Report(TypedDict):
    """What a delegated run tells the seat that delegated it."""

    status: ReportStatus
    summary: str
    """One line a person can read: what came of the run."""
    at: str
    seat: str
    """The seat that reports."""
    metadata: dict[str, Any]


class AuditEvent(TypedDict):
    """One row of the audit log, as plain JSON until it is written."""

    at: str
    type: AuditType
    sender: str
    receiver: str
    content: str
    metadata: dict[str, Any]
    thread_id: str | None
    campaign_id: str | None


def make_report(status: ReportStatus, summary: str, at: str, seat: str, **metadata: Any) -> Report:
    """A report from `seat`."""
    return Report(status=status, summary=summary, at=at, seat=seat, metadata=metadata)


def public_report(report: Report | None) -> dict[str, Any] | None:
    """The `last_report` field of `status --json`: status, summary and when."""
    if report is None:
        return None
    return {"status": report["status"], "summary": report["summary"], "at": report["at"]}


def audit_event(
    type: AuditType,
    sender: str,
    receiver: str,
    content: str,
    at: str,
    *,
    thread_id: str | None = None,
    campaign_id: str | None = None,
    **metadata: Any,
) -> AuditEvent:
    """An audit event; `metadata` must hold no secret (it is written as is)."""
    return AuditEvent(
        at=at,
        type=type,
        sender=sender,
        receiver=receiver,
        content=content,
        metadata=metadata,
        thread_id=thread_id,
        campaign_id=campaign_id,
    )


def report_event(
    report: Report, receiver: str, *, thread_id: str | None, campaign_id: str | None
) -> AuditEvent:
    """The audit event for a report reaching `receiver`."""
    return audit_event(
        "report",
        report["seat"],
        receiver,
        f"{report['status']}: {report['summary']}",
        report["at"],
        thread_id=thread_id,
        campaign_id=campaign_id,
        status=report["status"],
        **report["metadata"],
    )
