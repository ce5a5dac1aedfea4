"""AA06: the email-orchestrator graph, which drafts one email and never sends.

hydrate → load_history → safety_gate ─blocked→ END
                                     └→ recall_memory → decide_action ─skip→ END
   decide_action → [plan_roles, when ORCHESTRATOR_ROLE_PLAN] → research_facts (researcher)
   → email_compose | email_reply (composer) → review_draft (reviewer) ─revise once→ composer
"""

from __future__ import annotations

from collections.abc import Mapping

from langgraph.graph import START, StateGraph

from graphs.workers import build_email_compose, build_email_reply
from nodes.compose import Worker, delegate_to
from nodes.crm_context import hydrate, load_history
from nodes.decide import (
    decide_action,
    route_after_decide,
    route_after_decide_baseline,
    route_after_review,
    route_composer,
    route_roles,
)
from nodes.memory import recall_memory
from nodes.research import research_facts
from nodes.review import review_draft
from nodes.roles import plan_roles
from nodes.safety import route_after_gate, safety_gate
from schemas.context import Context
from schemas.orchestrator import OrchestratorInput, OrchestratorOutput, OrchestratorState
from schemas.worker import WorkerKind

OrchestratorGraph = StateGraph[OrchestratorState, Context, OrchestratorInput, OrchestratorOutput]


def build_email_orchestrator(
    *, with_leader: bool = True, composers: Mapping[WorkerKind, Worker] | None = None
) -> OrchestratorGraph:
    """The AA06 graph; `with_leader=False` is the baseline without the `plan_roles` node.

    `composers` swaps in other compiled worker subgraphs (a candidate prompt or model that
    the release gate compares against these); by default `email_compose` and `email_reply`.
    """
    workers = {
        "compose": build_email_compose().compile(),
        "reply": build_email_reply().compile(),
    } | dict(composers or {})
    graph: OrchestratorGraph = StateGraph(
        OrchestratorState,
        context_schema=Context,
        input_schema=OrchestratorInput,
        output_schema=OrchestratorOutput,
    )
    graph.add_node("hydrate", hydrate)
    graph.add_node("load_history", load_history)
    graph.add_node("safety_gate", safety_gate)
    graph.add_node("recall_memory", recall_memory)
    graph.add_node("decide_action", decide_action)
    if with_leader:
        graph.add_node("plan_roles", plan_roles)
    graph.add_node("research_facts", research_facts)
    graph.add_node("email_compose", delegate_to("compose", workers["compose"]))
    graph.add_node("email_reply", delegate_to("reply", workers["reply"]))
    graph.add_node("review_draft", review_draft)

    graph.add_edge(START, "hydrate")
    graph.add_edge("hydrate", "load_history")
    graph.add_edge("load_history", "safety_gate")
    graph.add_conditional_edges("safety_gate", route_after_gate)
    graph.add_edge("recall_memory", "decide_action")
    if with_leader:
        graph.add_conditional_edges("decide_action", route_after_decide)
        graph.add_conditional_edges("plan_roles", route_roles)
    else:
        graph.add_conditional_edges("decide_action", route_after_decide_baseline)
    graph.add_conditional_edges("research_facts", route_composer)
    graph.add_edge("email_compose", "review_draft")
    graph.add_edge("email_reply", "review_draft")
    graph.add_conditional_edges("review_draft", route_after_review)
    return graph


def build_baseline_orchestrator() -> OrchestratorGraph:
    """The orchestrator as it was before the leader: what flags-off must equal."""
    return build_email_orchestrator(with_leader=False)
