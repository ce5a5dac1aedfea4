"""The worker subgraphs the composer role maps to: `email_compose` and `email_reply`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from nodes.delegation import HandoffRefused, draft_problem, handoff_problem
from nodes.email.drafting import Worker, build_request
from nodes.email.sign_draft import sign_draft
from nodes.email.write_first_touch import write_first_touch
from nodes.email.write_reply import write_reply
from schemas.context import Context, context_of
from schemas.orchestrator import OrchestratorState
from schemas.worker import WorkerInput, WorkerKind, WorkerOutput, WorkerState

WorkerGraph = StateGraph[WorkerState, Context, WorkerInput, WorkerOutput]


def build_email_compose() -> WorkerGraph:
    """First touches and follow-ups: write (model or offline), then sign."""
    return _write_then_sign("write_first_touch", write_first_touch)


def build_email_reply() -> WorkerGraph:
    """Replies to an inbound message: write (model or offline), then sign."""
    return _write_then_sign("write_reply", write_reply)


def _write_then_sign(name: str, write: Callable[..., dict[str, Any]]) -> WorkerGraph:
    graph: WorkerGraph = StateGraph(
        WorkerState, context_schema=Context, input_schema=WorkerInput, output_schema=WorkerOutput
    )
    graph.add_node(name, write)
    graph.add_node("sign_draft", sign_draft)
    graph.add_edge(START, name)
    graph.add_edge(name, "sign_draft")
    graph.add_edge("sign_draft", END)
    return graph


def delegate_to(kind: WorkerKind, worker: Worker) -> Callable[..., dict[str, Any]]:
    """A parent node that hands one drafting job to a compiled worker subgraph."""

    def delegate(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_of(runtime)
        request = build_request(state, runtime)
        job = WorkerInput(
            request=asdict(request),
            sender_name=state.get("sender_name") or context.sender_name,
            sender_company=state.get("sender_company") or context.sender_company,
        )
        if why := handoff_problem(job):
            raise HandoffRefused(f"the job for email_{kind}: {why}")
        result = worker.invoke(job)
        if why := draft_problem(result.get("draft")):
            raise HandoffRefused(f"the draft email_{kind} returned: {why}")
        revising = state.get("draft") is not None
        return {
            "draft": result["draft"],
            "revisions": state.get("revisions", 0) + int(revising),
            "graph_meta": {
                "facts_used": result.get("facts_used", []),
                "composer": result["draft_provenance"]["source"],
                "needs_attention": result.get("attention"),
            },
            "provenance": {"draft": result["draft_provenance"]},
            "llm_calls": result.get("llm_calls", []),
            "path": [f"email_{kind}"],
        }

    delegate.__name__ = f"email_{kind}"
    delegate.__doc__ = f"Delegate the draft to the email_{kind} worker subgraph."
    return delegate
