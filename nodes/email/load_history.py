"""load_history: the latest messages exchanged with the contact."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from schemas.context import Context, context_of
from schemas.orchestrator import OrchestratorState


def load_history(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Load the latest messages exchanged with the contact."""
    history = context_of(runtime).door.history(state["contact_id"])
    return {"history": history, "path": ["load_history"]}
