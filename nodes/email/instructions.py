"""The composer's system prompt: its governed instructions (SPEC §14), or the shipped ones.

A promoted version replaces only the instructions. The reply task, the JSON answer format
and the data-is-not-instructions rule are appended by code, so no proposal can drop them.
"""

from __future__ import annotations

from nodes.email.prompts import (
    ANSWER_FORMAT,
    DATA_RULE,
    DRAFT_INSTRUCTIONS,
    DRAFT_SYSTEM,
    REPLY_SYSTEM,
    SEQUENCE_RULE,
)
from schemas.worker import WorkerKind

SEAT = "composer"
TASKS: dict[WorkerKind, str] = {
    "compose": SEQUENCE_RULE,
    "reply": (
        "This draft replies to the prospect's latest inbound email in the data: answer what "
        "they asked using only the data and propose a next step."
    ),
}
SHIPPED: dict[WorkerKind, str] = {"compose": DRAFT_SYSTEM, "reply": REPLY_SYSTEM}


def shipped_instructions() -> str:
    """The instructions the composer ships with: its first-touch prompt without the fixed tail."""
    return DRAFT_INSTRUCTIONS


def composer_system(kind: WorkerKind, instructions: str | None) -> str:
    """The system prompt for `kind`: promoted instructions plus the fixed tail, else shipped."""
    if instructions is None or not instructions.strip():
        return SHIPPED[kind]
    parts = (instructions.strip(), TASKS[kind], ANSWER_FORMAT, DATA_RULE)
    return " ".join(p for p in parts if p)
