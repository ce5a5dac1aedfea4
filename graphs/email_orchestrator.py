"""AA06: the email-orchestrator graph, which drafts one email and never sends.

hydrate → load_history → safety_gate ─blocked→ END
                                     └→ recall_memory → decide_action ─skip→ END
   decide_action → [plan_roles, when ORCHESTRATOR_ROLE_PLAN] → research_facts (researcher)
   → email_compose | email_reply (composer) → review_draft (reviewer) ─revise once→ composer
Every way out passes report_outcome, which reports upward. Each role runs as a hand-off the
seat chart allows; a refused one ends the run with a `failed` report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from graphs.workers import build_email_compose, build_email_reply, delegate_to
from nodes.email.decide_action import decide_action
from nodes.email.delegate_role import (
    composer_report,
    delegated,
    researcher_report,
    reviewer_report,
)
from nodes.email.drafting import Worker
from nodes.email.hydrate import hydrate
from nodes.email.load_history import load_history
from nodes.email.plan_roles import plan_roles
from nodes.email.recall_memory import recall_memory
from nodes.email.report_outcome import report_outcome
from nodes.email.research_facts import research_facts
from nodes.email.review_draft import review_draft
from nodes.email.safety_gate import safety_gate
from schemas.context import Context, context_of
from schemas.orchestrator import (
    OrchestratorInput,
    OrchestratorOutput,
    OrchestratorState,
)
from schemas.worker import WorkerKind

REPORT: Literal["report_outcome"] = "report_outcome"

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
    graph.add_node("research_facts", delegated("researcher", research_facts, researcher_report))
    for kind in ("compose", "reply"):
        worker = delegate_to(kind, workers[kind])
        graph.add_node(f"email_{kind}", delegated("composer", worker, composer_report))
    graph.add_node("review_draft", delegated("reviewer", review_draft, reviewer_report))
    graph.add_node("report_outcome", report_outcome)

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
    graph.add_conditional_edges("research_facts", route_after_research)
    graph.add_conditional_edges("email_compose", route_after_compose)
    graph.add_conditional_edges("email_reply", route_after_compose)
    graph.add_conditional_edges("review_draft", route_after_review)
    graph.add_edge("report_outcome", END)
    return graph


def build_baseline_orchestrator() -> OrchestratorGraph:
    """The orchestrator as it was before the leader: what flags-off must equal."""
    return build_email_orchestrator(with_leader=False)


def route_after_gate(state: OrchestratorState) -> Literal["recall_memory", "report_outcome"]:
    """Stop a blocked contact here; carry on otherwise."""
    return REPORT if state.get("blocked_reason") else "recall_memory"


def route_after_decide_baseline(
    state: OrchestratorState,
) -> Literal["research_facts", "email_compose", "email_reply", "report_outcome"]:
    """Without a leader: stop on skip, else run the static plan."""
    if state["action"] == "skip":
        return REPORT
    return route_roles(state)


def route_after_decide(
    state: OrchestratorState, runtime: Runtime[Context]
) -> Literal["plan_roles", "research_facts", "email_compose", "email_reply", "report_outcome"]:
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


def route_after_research(
    state: OrchestratorState,
) -> Literal["email_compose", "email_reply", "report_outcome"]:
    """On to the composer, unless the hand-off to the researcher was refused."""
    return REPORT if refused(state) else route_composer(state)


def route_after_compose(state: OrchestratorState) -> Literal["review_draft", "report_outcome"]:
    """Every draft goes to the reviewer; a refused hand-off ends the run with its report."""
    return REPORT if refused(state) else "review_draft"


def route_after_review(
    state: OrchestratorState,
) -> Literal["email_compose", "email_reply", "report_outcome"]:
    """A planned reviewer may send a failed draft back once; otherwise the draft stands."""
    meta = state.get("graph_meta", {})
    wants_revision = "reviewer" in state["role_plan"] and meta.get("review_passed") is False
    if wants_revision and state.get("revisions", 0) < 1 and not refused(state):
        return route_composer(state)
    return REPORT


def refused(state: OrchestratorState) -> bool:
    """True once a hand-off was refused: the run reports `failed` and drafts nothing more."""
    report = state.get("report")
    return report is not None and report["status"] == "failed"
