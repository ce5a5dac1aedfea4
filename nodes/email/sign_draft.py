"""sign_draft: both workers' last step adds the sign-off, signature and opt-out line."""

from __future__ import annotations

from typing import Any

from nodes.email.offline_composer import SIGN_OFF, ComposeRequest, tone_for
from nodes.email.reply_composer import OPT_OUT_LINES, SIGN_OFF_LINES
from schemas.worker import WorkerState


def sign_draft(state: WorkerState) -> dict[str, Any]:
    """Add the sign-off, signature and unsubscribe line every draft carries."""
    request = ComposeRequest(**state["request"])
    body = finish_body(
        state["draft"]["body"],
        tone=tone_for(request),
        sender_name=state["sender_name"],
        sender_company=state["sender_company"],
        language=state.get("language", "en"),
    )
    return {"draft": {"subject": state["draft"]["subject"], "body": body}}


def finish_body(
    body: str, *, tone: str | None, sender_name: str, sender_company: str, language: str = "en"
) -> str:
    """Append the sign-off, signature and opt-out line, in the draft's language."""
    if language == "en" or language not in OPT_OUT_LINES:
        sign_off, opt_out = SIGN_OFF.get(tone, "Best,"), OPT_OUT_LINES["en"]
    else:
        sign_off, opt_out = SIGN_OFF_LINES[language], OPT_OUT_LINES[language]
    signature = "\n".join([sign_off, sender_name, sender_company])
    return f"{body.rstrip()}\n\n{signature}\n\n{opt_out}"
