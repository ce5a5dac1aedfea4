"""Delegation under the seat chart (SPEC §12): every hand-off is checked, bounded and audited.

A seat hands work down only where the chart lets it and no deeper than three hand-offs;
a hand-off too large or malformed to pass whole is refused, never cut short. Each
delegation and each report back becomes an audit event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from schemas.context import Context
from schemas.provenance import Provenance
from schemas.seats import seat_chart
from schemas.supervision import AuditEvent, audit_event

MAX_HANDOFF_CHARS = 32_000
"""The largest hand-off (as JSON) a seat passes down or up; larger ones are refused whole."""
MAX_FEEDBACK_CHARS = 2_000
"""The longest feedback a person may give on one draft."""


def refusal(context: Context, sender: str, receiver: str, depth: int) -> str | None:
    """Why the seat chart forbids this hand-off, or None when it is allowed.

    Raises:
        SeatChartError: the chart itself is invalid (a configuration error).
    """
    return seat_chart(context.seats).check(sender, receiver, depth)


def handoff_problem(payload: Mapping[str, Any], limit: int = MAX_HANDOFF_CHARS) -> str | None:
    """Why a hand-off cannot pass whole (not plain JSON, or too large), or None."""
    try:
        size = len(json.dumps(payload, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        return f"it is not plain JSON ({exc})"
    if size > limit:
        return f"it is {size} characters, over the {limit} a hand-off may carry"
    feedback = payload.get("feedback")
    if isinstance(feedback, str) and len(feedback) > MAX_FEEDBACK_CHARS:
        return f"its feedback is {len(feedback)} characters, over {MAX_FEEDBACK_CHARS}"
    return None


def delegation_event(
    sender: str,
    receiver: str,
    task: str,
    at: str,
    depth: int,
    *,
    thread_id: str | None,
    campaign_id: str | None,
    refused: str | None = None,
) -> AuditEvent:
    """The audit event for a hand-off, refused or not."""
    content = f"refused: {task} ({refused})" if refused else task
    return audit_event(
        "delegation",
        sender,
        receiver,
        content,
        at,
        thread_id=thread_id,
        campaign_id=campaign_id,
        depth=depth,
        refused=refused,
    )


def fail_open_events(
    provenance: Mapping[str, Provenance],
    receiver: str,
    at: str,
    *,
    thread_id: str | None,
    campaign_id: str | None,
) -> list[AuditEvent]:
    """An audit event for each decision that fell back to its default."""
    return [
        audit_event(
            "fail_open",
            name,
            receiver,
            prov["reason"],
            at,
            thread_id=thread_id,
            campaign_id=campaign_id,
            provenance=dict(prov),
        )
        for name, prov in sorted(provenance.items())
        if "fail-open" in prov["reason"]
    ]


class HandoffRefused(Exception):
    """A hand-off that cannot pass whole; the delegating seat reports it, never truncates it."""


MAX_DRAFT_CHARS = 12_000
"""The longest subject plus body a composer may hand back: a model's longest (200 + 10,000)
with room for the signature and opt-out line the worker adds."""


def draft_problem(draft: object) -> str | None:
    """Why a composer's draft cannot be taken whole (malformed or oversized), or None."""
    if not isinstance(draft, Mapping):
        return f"it is {type(draft).__name__}, not a subject and body"
    parts = [draft.get("subject"), draft.get("body")]
    if not all(isinstance(p, str) for p in parts):
        return "its subject or body is missing or not text"
    size = sum(len(p) for p in parts if isinstance(p, str))
    if size > MAX_DRAFT_CHARS:
        return f"it is {size} characters, over the {MAX_DRAFT_CHARS} a draft may have"
    return None
