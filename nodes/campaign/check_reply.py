"""check_reply: a stop (reply, bounce, opt-out) ends a thread; a retention hold holds it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langgraph.runtime import Runtime

from checkpoints.threads import campaign_thread_id
from nodes.campaign.schedule_next import due_at, sequence_over
from nodes.email.safety_gate import stop_reason
from schemas.campaign import CampaignState
from schemas.context import Context, context_of
from schemas.door import Door
from schemas.supervision import audit_event, make_report
from schemas.values import iso


def check_reply(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Stop the thread when the contact may no longer be emailed, hold it while retention does."""
    door = context_of(runtime).door
    standing = door.standing(state["contact_id"])
    if reason := stop_reason(standing):
        if reason == "retention_hold":
            return hold(state, door, standing.retention or "on the retention watch list")
        return {"status": "stopped", "stop_reason": reason}
    if sequence_over(state):
        return {"status": "completed", "stop_reason": "all planned touches done"}
    return {"status": "active"}


def hold(state: CampaignState, door: Door, why: str) -> dict[str, Any]:
    """Retention outranks outreach: no draft, no send, until the company leaves the list."""
    at = iso(door.now())
    summary = f"held: the company is on the retention watch list ({why})"
    thread_id = campaign_thread_id(state["campaign_id"], state["contact_id"])
    door.audit(
        [
            audit_event(
                "hold",
                "retention",
                "coach",
                summary,
                at,
                thread_id=thread_id,
                campaign_id=state["campaign_id"],
                reason=why,
            )
        ]
    )
    return {
        "status": "held",
        "stop_reason": f"retention_hold: {why}",
        "pending": None,
        "last_report": make_report("partial", summary, at, "coach", hold=why),
    }


def is_due(state: CampaignState, now: datetime) -> bool:
    """True when the next touch's time has come."""
    return due_at(state) <= now
