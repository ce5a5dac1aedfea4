"""sign_draft: both workers' last step adds the sign-off, signature and opt-out line."""

from __future__ import annotations

from typing import Any

from nodes.email.offline_composer import (
    ComposeRequest,
    finish_body,
    tone_for,
)
from schemas.worker import WorkerState


def sign_draft(state: WorkerState) -> dict[str, Any]:
    """Add the sign-off, signature and unsubscribe line every draft carries."""
    request = ComposeRequest(**state["request"])
    body = finish_body(
        state["draft"]["body"],
        tone=tone_for(request),
        sender_name=state["sender_name"],
        sender_company=state["sender_company"],
    )
    return {"draft": {"subject": state["draft"]["subject"], "body": body}}
