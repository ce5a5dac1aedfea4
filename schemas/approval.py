"""Agent Inbox payloads: the interrupt a person sees and the response they give."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

ResponseType = Literal["accept", "edit", "response", "ignore"]


class ActionRequest(TypedDict):
    """What the agent asks to do: send this email."""

    action: str
    args: dict[str, Any]


class HumanInterruptConfig(TypedDict):
    """Which answers the inbox offers."""

    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


class HumanInterrupt(TypedDict):
    """One pending decision, in the Agent Inbox shape."""

    action_request: ActionRequest
    config: HumanInterruptConfig
    description: str


class HumanResponse(TypedDict):
    """A person's answer: accept, edit (args = ActionRequest), response (args = text), ignore."""

    type: ResponseType
    args: str | ActionRequest | None
