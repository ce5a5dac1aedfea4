"""AA02: the campaign graph, one durable thread per (campaign, contact).

Each cron resume runs: [coach_plan, step 0 only, with CAMPAIGN_COACH_ENABLED] → check_reply
─stopped / not due→ END; → compose_touch (delegates to the AA06 orchestrator) → await_approval
(interrupt) ─accept/edit→ send_touch (the only node that sends) → schedule_next → END;
─response→ compose_touch again (twice at most); ─ignore→ schedule_next.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime

from graphs.email_orchestrator import build_email_orchestrator
from nodes.approval import await_approval, route_after_approval
from nodes.coach import coach_plan
from nodes.schedule import schedule_next
from nodes.send import route_after_send, send_touch
from nodes.stops import check_reply, route_after_check
from nodes.touch import delegate_touch, route_after_compose
from schemas.campaign import CampaignInput, CampaignState
from schemas.context import Context, context_of

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
