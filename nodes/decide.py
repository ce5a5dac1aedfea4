"""Choose what to draft: a first touch or follow-up, a reply to an inbound, or nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from langgraph.runtime import Runtime

from nodes.roles import DEFAULT_ROLE_PLAN, default_role_plan_provenance
from schemas.context import Context, context_of
from schemas.crm import OPT_OUT_EVENTS
from schemas.orchestrator import DONE, OrchestratorState

RECENT_OUTBOUND = timedelta(days=3)


def decide_action(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Reply to an unanswered inbound; skip a one-off draft right after an email; else compose."""
    # A recorded bounce or unsubscribe is an event, never a message to answer (SPEC §11a).
    history = [m for m in state.get("history", []) if m["subject"] not in OPT_OUT_EVENTS]
    last = history[-1] if history else None
    touch = state.get("touch") or 1 + sum(m["direction"] == "out" for m in history)
    action, skip_reason = "compose", None
    if last and last["direction"] == "in":
        action = "reply"
    elif last and "touch" not in state:
        sent = datetime.fromisoformat(last["at"].replace("Z", "+00:00"))
        if context_of(runtime).door.now() - sent < RECENT_OUTBOUND:
            action = "skip"
            skip_reason = f"last email went out at {last['at']}, under 3 days ago"
    return {
        "action": action,
        "skip_reason": skip_reason,
        "touch": touch,
        "role_plan": list(DEFAULT_ROLE_PLAN),
        "graph_meta": {"role_plan": list(DEFAULT_ROLE_PLAN), "touch": touch},
        "provenance": {"role_plan": default_role_plan_provenance("static default role plan")},
        "path": ["decide_action"],
    }


def route_after_decide_baseline(
    state: OrchestratorState,
) -> Literal["research_facts", "email_compose", "email_reply", "__end__"]:
    """Without a leader: stop on skip, else run the static plan."""
    if state["action"] == "skip":
        return DONE
    return route_roles(state)


def route_after_decide(
    state: OrchestratorState, runtime: Runtime[Context]
) -> Literal["plan_roles", "research_facts", "email_compose", "email_reply", "__end__"]:
    """Stop on skip; ask the leader when its flag is on; else run the static plan."""
    if state["action"] != "skip" and context_of(runtime).orchestrator_role_plan:
        return "plan_roles"
    return route_after_decide_baseline(state)


def route_roles(
    state: OrchestratorState,
) -> Literal["research_facts", "email_compose", "email_reply"]:
    """The next role's node: the researcher first when planned, then the composer."""
    if "researcher" in state["role_plan"] and not state.get("brief"):
        return "research_facts"
    return route_composer(state)


def route_composer(state: OrchestratorState) -> Literal["email_compose", "email_reply"]:
    """The composer worker that fits the action."""
    return "email_reply" if state["action"] == "reply" else "email_compose"


def route_after_review(
    state: OrchestratorState,
) -> Literal["email_compose", "email_reply", "__end__"]:
    """A planned reviewer may send a failed draft back once; otherwise the draft stands."""
    meta = state.get("graph_meta", {})
    wants_revision = "reviewer" in state["role_plan"] and meta.get("review_passed") is False
    if wants_revision and state.get("revisions", 0) < 1:
        return route_composer(state)
    return DONE
