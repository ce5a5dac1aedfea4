"""The worker subgraphs the composer role maps to: `email_compose` and `email_reply`."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from nodes.compose import sign_draft, write_draft
from schemas.context import Context
from schemas.worker import WorkerState


def _build_worker() -> StateGraph[WorkerState, Context, WorkerState, WorkerState]:
    graph = StateGraph(WorkerState, context_schema=Context)
    graph.add_node("write_draft", write_draft)
    graph.add_node("sign_draft", sign_draft)
    graph.add_edge(START, "write_draft")
    graph.add_edge("write_draft", "sign_draft")
    graph.add_edge("sign_draft", END)
    return graph


def build_email_compose() -> StateGraph[WorkerState, Context, WorkerState, WorkerState]:
    """First touches and follow-ups: write (model or offline), then sign."""
    return _build_worker()


def build_email_reply() -> StateGraph[WorkerState, Context, WorkerState, WorkerState]:
    """Replies to an inbound message: write (model or offline), then sign."""
    return _build_worker()
