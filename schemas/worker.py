"""State of the email_compose / email_reply worker subgraphs."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, Required, TypedDict

from schemas.orchestrator import Draft
from schemas.provenance import Provenance

WorkerKind = Literal["compose", "reply"]


class WorkerState(TypedDict, total=False):
    """One drafting job: the request in, a signed draft and its provenance out."""

    kind: Required[WorkerKind]
    request: Required[dict[str, Any]]
    """ComposeRequest fields (plain JSON)."""
    sender_name: Required[str]
    sender_company: Required[str]
    draft: Draft
    draft_provenance: Provenance
    llm_calls: Annotated[list[dict[str, Any]], operator.add]
