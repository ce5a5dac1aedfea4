"""Schemas of the email_compose / email_reply worker subgraphs: input, state, output."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from schemas.orchestrator import Draft
from schemas.provenance import Provenance

WorkerKind = Literal["compose", "reply"]


class WorkerInput(TypedDict):
    """One drafting job handed down by the orchestrator."""

    request: dict[str, Any]
    """ComposeRequest fields (plain JSON)."""
    sender_name: str
    sender_company: str


class WorkerOutput(TypedDict):
    """What the worker reports back: the signed draft, how it was made, what it quotes."""

    draft: Draft
    draft_provenance: Provenance
    llm_calls: list[dict[str, Any]]
    facts_used: list[str]
    """The facts the draft quotes: no later touch to this contact quotes them again."""
    attention: str | None
    """Why a person must look before it goes (a price to add, a question to answer)."""
    language: str
    """The draft's language (its footer is written in it)."""


class WorkerState(WorkerInput, total=False):
    """The job plus what its nodes write."""

    draft: Draft
    draft_provenance: Provenance
    llm_calls: Annotated[list[dict[str, Any]], operator.add]
    facts_used: list[str]
    attention: str | None
    language: str
