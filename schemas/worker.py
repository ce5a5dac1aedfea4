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
    """What the worker reports back: the signed draft and how it was made."""

    draft: Draft
    draft_provenance: Provenance
    llm_calls: list[dict[str, Any]]


class WorkerState(WorkerInput, total=False):
    """The job plus what its nodes write."""

    draft: Draft
    draft_provenance: Provenance
    llm_calls: Annotated[list[dict[str, Any]], operator.add]
