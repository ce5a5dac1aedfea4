"""The stop check: a reply, bounce, unsubscribe or suppression ends a thread at its next tick."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from langgraph.runtime import Runtime

from nodes.safety import stop_reason
from nodes.schedule import due_at, sequence_over
from schemas.campaign import CampaignState
from schemas.context import Context, context_of
from schemas.orchestrator import DONE


def check_reply(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Stop the thread when the contact may no longer be emailed or the sequence is over."""
    if reason := stop_reason(context_of(runtime).door.standing(state["contact_id"])):
        return {"status": "stopped", "stop_reason": reason}
    if sequence_over(state):
        return {"status": "completed", "stop_reason": "all planned touches done"}
    return {"status": "active"}


def route_after_check(
    state: CampaignState, runtime: Runtime[Context]
) -> Literal["compose_touch", "__end__"]:
    """Compose only for a live thread whose next touch is due; otherwise wait (END)."""
    if state["status"] != "active":
        return DONE
    return "compose_touch" if is_due(state, context_of(runtime).door.now()) else DONE


def is_due(state: CampaignState, now: datetime) -> bool:
    """True when the next touch's time has come."""
    return due_at(state) <= now
