"""schedule_next: when the next touch is due, from the plan's cadence, or that the end came."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from langgraph.runtime import Runtime

from nodes.campaign.coach_rules import default_plan_values
from schemas.campaign import CampaignState, PlanRecord, TouchRecord
from schemas.context import Context, context_of
from schemas.values import iso, parse_instant


def effective_plan(state: CampaignState) -> PlanRecord:
    """The stored plan, or the default one (no coach, or the coach failed open)."""
    plan = state.get("plan")
    if plan is not None:
        return plan
    defaults = default_plan_values()
    return PlanRecord(source="default", **defaults)


def touches_done(state: CampaignState) -> int:
    """Touches sent or skipped so far."""
    return len(state.get("touches", []))


def next_touch(state: CampaignState) -> int:
    """The 1-based number of the touch to work on next."""
    return touches_done(state) + 1


def sequence_over(state: CampaignState) -> bool:
    """True once every planned touch has been sent or skipped."""
    return touches_done(state) >= effective_plan(state)["max_touches"]


def due_at(state: CampaignState) -> datetime:
    """When the next touch is due: the plan's gap after the last touch (or enrolment).

    An approved touch waiting for its send window or cap is due when its slot opens.
    """
    if scheduled := state.get("scheduled_for"):
        return parse_instant(scheduled)
    touches = state.get("touches", [])
    base = touches[-1]["at"] if touches else state["enrolled_at"]
    gaps = effective_plan(state)["cadence_days"]
    index = min(len(touches), len(gaps) - 1)
    return parse_instant(base) + timedelta(days=gaps[index])


def schedule_next(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Record a skipped touch; end the sequence after its last touch, else wait for the next."""
    update: dict[str, Any] = {"decision": None, "feedback": None, "pending": None}
    touches = list(state.get("touches", []))
    pending = state.get("pending")
    if pending is not None and (state.get("decision") or {}).get("type") == "ignore":
        at = iso(context_of(runtime).door.now())
        touches.append(
            TouchRecord(
                touch=pending["touch"], outcome="skipped", at=at, message_id=None, edited=False
            )
        )
        update["touches"] = touches
    if sequence_over({**state, "touches": touches}):
        return update | {"status": "completed", "stop_reason": "all planned touches done"}
    return update | {"status": "active"}
