"""AA02: the campaign graph, one durable thread per (campaign, contact).

Each cron resume runs: [coach_plan, step 0 only, with CAMPAIGN_COACH_ENABLED] → check_reply
─stopped / held / not due→ END; → compose_touch (delegates to the AA06 orchestrator, under the
seat chart; its report comes back here) ─blocked / held / refused→ END; → await_approval
(interrupt) ─accept/edit→ send_touch (the only node that sends) → schedule_next → END;
─response→ compose_touch again (twice at most); ─ignore→ schedule_next.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime

from graphs.email_orchestrator import build_email_orchestrator
from nodes.campaign.await_approval import MAX_FEEDBACK_ROUNDS, await_approval, pending_touch
from nodes.campaign.check_reply import check_reply, is_due
from nodes.campaign.coach_plan import coach_plan
from nodes.campaign.compose_touch import delegate_touch
from nodes.campaign.schedule_next import (
    schedule_next,
)
from nodes.campaign.send_touch import send_touch
from schemas.campaign import CampaignInput, CampaignState
from schemas.context import Context, context_of
from schemas.orchestrator import DONE

CampaignGraph = StateGraph[CampaignState, Context, CampaignInput, CampaignState]


def route_start(
    state: CampaignState, runtime: Runtime[Context]
) -> Literal["coach_plan", "check_reply"]:
    """The coach plans only at step 0 (no plan, no touch yet) and only with its flag on."""
    first_step = state.get("plan") is None and not state.get("touches")
    coach_on = context_of(runtime).campaign_coach_enabled
    return "coach_plan" if coach_on and first_step else "check_reply"


def build_campaign_graph(*, with_coach: bool = True) -> CampaignGraph:
    """The AA02 graph; `with_coach=False` is the baseline without the `coach_plan` node."""
    graph: CampaignGraph = StateGraph(
        CampaignState, context_schema=Context, input_schema=CampaignInput
    )
    # The delegate keeps no checkpoints of its own: the campaign thread owns its runs.
    orchestrator = build_email_orchestrator().compile(checkpointer=False)
    if with_coach:
        graph.add_node("coach_plan", coach_plan)
    graph.add_node("check_reply", check_reply)
    graph.add_node("compose_touch", delegate_touch(orchestrator))
    graph.add_node("await_approval", await_approval)
    graph.add_node("send_touch", send_touch)
    graph.add_node("schedule_next", schedule_next)

    if with_coach:
        graph.add_conditional_edges(START, route_start)
        graph.add_edge("coach_plan", "check_reply")
    else:
        graph.add_edge(START, "check_reply")
    graph.add_conditional_edges("check_reply", route_after_check)
    graph.add_conditional_edges("compose_touch", route_after_compose)
    graph.add_conditional_edges("await_approval", route_after_approval)
    graph.add_conditional_edges("send_touch", route_after_send)
    graph.add_edge("schedule_next", "__end__")
    return graph


def route_after_check(
    state: CampaignState, runtime: Runtime[Context]
) -> Literal["compose_touch", "send_touch", "__end__"]:
    """A live thread whose time has come sends its scheduled touch or composes the next."""
    if state["status"] != "active" or not is_due(state, context_of(runtime).door.now()):
        return DONE
    return "send_touch" if waiting_to_send(state) else "compose_touch"


def route_after_compose(state: CampaignState) -> Literal["await_approval", "__end__"]:
    """A draft goes to a person; a block, a hold or a refused hand-off ends the run."""
    return "await_approval" if state["status"] == "awaiting_approval" else DONE


def route_after_approval(
    state: CampaignState,
) -> Literal["send_touch", "compose_touch", "await_approval", "schedule_next"]:
    """A sendable accept or edit sends; feedback recomposes (twice at most); ignore skips."""
    decision = state["decision"] or {}
    pending = pending_touch(state)
    if decision.get("type") == "ignore":
        return "schedule_next"
    if decision.get("type") == "response":
        rounds_ok = pending["feedback_rounds"] <= MAX_FEEDBACK_ROUNDS
        return "compose_touch" if rounds_ok else "await_approval"
    if decision.get("rejected_notes"):
        return "await_approval"
    return "send_touch"


def route_after_send(state: CampaignState) -> Literal["schedule_next", "__end__"]:
    """Stopped, held, released or scheduled for later, the run ends here; else schedule on."""
    if state["status"] in ("stopped", "held", "released", "failed"):
        return DONE
    return DONE if waiting_to_send(state) else "schedule_next"


def waiting_to_send(state: CampaignState) -> bool:
    """True while an approved touch waits for its send window or mailbox cap."""
    return bool(state.get("scheduled_for")) and state.get("pending") is not None
