"""decide_action: compose a first touch or follow-up, reply to an inbound, or skip."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from langgraph.runtime import Runtime

from nodes.email.intents import NO_REPLY, inbound_text, intent_of_text
from nodes.email.plan_roles import DEFAULT_ROLE_PLAN, default_role_plan_provenance
from schemas.context import Context, context_of
from schemas.crm import OPT_OUT_EVENTS
from schemas.orchestrator import OrchestratorState
from schemas.values import parse_instant

RECENT_OUTBOUND = timedelta(days=3)
_NO_REPLY_WHY = {"opt_out": "an opt-out request", "out_of_office": "an out-of-office reply"}


def decide_action(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Reply to an unanswered inbound, compose a touch, or skip.

    An opt-out or an autoreply gets no reply; a one-off draft right after an email waits.
    """
    # A recorded bounce or unsubscribe is an event, never a message to answer (SPEC §11a).
    history = [m for m in state.get("history", []) if m["subject"] not in OPT_OUT_EVENTS]
    last = history[-1] if history else None
    touch = state.get("touch") or 1 + sum(m["direction"] == "out" for m in history)
    action, skip_reason = "compose", None
    if last and last["direction"] == "in":
        action = "reply"
        intent = intent_of_text(inbound_text(last["subject"], last["body"]))
        if intent in NO_REPLY:  # SPEC §6, §11a: an opt-out or an autoreply gets no email
            action = "skip"
            skip_reason = f"the inbound is {_NO_REPLY_WHY[intent]}: it gets no reply"
    elif last and "touch" not in state:
        sent = parse_instant(last["at"])
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
