"""write_first_touch: the email_compose worker writes a first touch or follow-up."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from nodes.email.drafting import write_draft
from schemas.context import Context
from schemas.worker import WorkerState


def write_first_touch(state: WorkerState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draft a first touch or follow-up: the model when it answers well, else offline."""
    return write_draft(state, runtime, "compose")
