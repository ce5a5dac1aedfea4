"""compose_touch: the campaign delegates one draft to the email orchestrator (AA06)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from nodes.campaign.schedule_next import effective_plan, next_touch
from schemas.campaign import CampaignState, PendingTouch
from schemas.context import Context, context_of
from schemas.orchestrator import OrchestratorInput, OrchestratorOutput, OrchestratorState

CompiledOrchestrator = CompiledStateGraph[
    OrchestratorState, Context, OrchestratorInput, OrchestratorOutput
]
"""The email orchestrator as the campaign delegates to it."""


def delegate_touch(orchestrator: CompiledOrchestrator) -> Callable[..., dict[str, Any]]:
    """The compose_touch node, bound to a compiled orchestrator (no checkpointer of its own)."""

    def compose_touch(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Draft the next touch with the plan's angle and tone (and any feedback)."""
        context = context_of(runtime)
        door = context.door
        campaign = door.campaign(state["campaign_id"]) or {}
        plan = effective_plan(state)
        pending = state.get("pending")
        job = OrchestratorInput(
            contact_id=state["contact_id"],
            touch=next_touch(state),
            angle=plan["angle"],
            tone=plan["tone"],
            offer=campaign.get("offer"),
            sender_name=campaign.get("sender_name"),
            feedback=state.get("feedback"),
            campaign_id=state["campaign_id"],
        )
        result = orchestrator.invoke(job, context=context)
        if result["action"] == "blocked":
            return {"status": "stopped", "stop_reason": result["blocked_reason"], "pending": None}
        meta, draft = result["graph_meta"], result["draft"]
        contact = door.contact(state["contact_id"]) or {"email": ""}
        return {
            "status": "awaiting_approval",
            "pending": PendingTouch(
                touch=next_touch(state),
                to=contact["email"],
                subject=draft["subject"],
                body=draft["body"],
                review_passed=bool(meta["review_passed"]),
                review_notes=list(meta["review_notes"]),
                facts_used=list(meta.get("facts_used", [])),
                edited=False,
                feedback_rounds=pending["feedback_rounds"] if pending else 0,
            ),
            "provenance": {k: v for k, v in result["provenance"].items() if k != "safety"},
        }

    return compose_touch
