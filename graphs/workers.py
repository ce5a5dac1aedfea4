"""The worker subgraphs the composer role maps to: `email_compose` and `email_reply`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph

from nodes.compose import sign_draft, write_first_touch, write_reply
from schemas.context import Context
from schemas.worker import WorkerInput, WorkerOutput, WorkerState

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
