"""check_reply: a reply, bounce, unsubscribe or suppression ends a thread at its next tick."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langgraph.runtime import Runtime

from nodes.campaign.schedule_next import due_at, sequence_over
from nodes.email.safety_gate import stop_reason
from schemas.campaign import CampaignState
from schemas.context import Context, context_of


def check_reply(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Stop the thread when the contact may no longer be emailed or the sequence is over."""
    if reason := stop_reason(context_of(runtime).door.standing(state["contact_id"])):
        return {"status": "stopped", "stop_reason": reason}
    if sequence_over(state):
        return {"status": "completed", "stop_reason": "all planned touches done"}
    return {"status": "active"}


def is_due(state: CampaignState, now: datetime) -> bool:
    """True when the next touch's time has come."""
    return due_at(state) <= now
