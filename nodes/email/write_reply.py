"""write_reply: the email_reply worker answers an inbound message."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from nodes.email.drafting import write_draft
from schemas.context import Context
from schemas.worker import WorkerState


def write_reply(state: WorkerState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draft a reply to an inbound message: the model when it answers well, else offline."""
    return write_draft(state, runtime, "reply")
