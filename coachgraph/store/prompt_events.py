"""The audit rows of governed prompt updates (SPEC §12 type `prompt_update`): who, what, why.

The sender is the person seat (a person proposes and rolls back), the receiver the seat
whose instructions change; metadata holds the version ids, the decision and the gate's
scores, never a key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemas.supervision import AuditEvent, audit_event

if TYPE_CHECKING:
    from coachgraph.store.prompts import PromptVersion


def decision_events(
    stored: PromptVersion, previous: PromptVersion | None, report: dict[str, Any]
) -> list[AuditEvent]:
    """Two rows: the proposal as the person made it, and the gate's decision on it."""
    scores = {
        p["path"]: {"baseline": p["baseline"], "candidate": p["candidate"], "verdict": p["verdict"]}
        for p in report.get("paths", [])
    }
    common: dict[str, Any] = {
        "version_id": stored.id,
        "author": stored.author,
        "reason": stored.reason,
    }
    outcome = (
        f"version {stored.id} is current"
        + (f", version {previous.id} superseded" if previous else "")
        if stored.status == "current"
        else f"version {stored.id} refused; the current instructions stay"
    )
    return [
        audit_event(
            "prompt_update",
            "person",
            stored.seat,
            f"{stored.author} proposed new {stored.seat} instructions: {stored.reason}",
            stored.created_at,
            **common,
            decision="proposed",
            chars=len(stored.text),
        ),
        audit_event(
            "prompt_update",
            "person",
            stored.seat,
            f"release gate {report['decision']}: {outcome}",
            stored.decided_at or stored.created_at,
            **common,
            decision=report["decision"],
            status=stored.status,
            previous_version_id=previous.id if previous else None,
            scores=scores,
        ),
    ]


def rollback_event(
    was: PromptVersion, now_current: PromptVersion, author: str, reason: str, at: str
) -> AuditEvent:
    """The row for a person rolling a seat back to an earlier promoted version."""
    return audit_event(
        "prompt_update",
        "person",
        was.seat,
        f"{author} rolled {was.seat} back from version {was.id} to version {now_current.id}: "
        f"{reason}",
        at,
        version_id=now_current.id,
        rolled_back_version_id=was.id,
        decision="rollback",
        author=author,
        reason=reason,
    )
