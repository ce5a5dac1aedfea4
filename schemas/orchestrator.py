"""AA06 email-orchestrator schemas: input, internal state, output (all plain JSON)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, Required, TypedDict, get_args

from schemas.crm import CompanyRecord, ContactRecord, FactRecord, MessageRecord
from schemas.provenance import Provenance
from schemas.supervision import AuditEvent, Report

Action = Literal["compose", "reply", "skip", "blocked"]
BlockReason = Literal[
    "suppressed", "do_not_contact", "bounced", "unsubscribed", "replied", "retention_hold"
]
Role = Literal["researcher", "composer", "reviewer"]
ContactFlag = Literal["do_not_contact", "bounced", "unsubscribed", "replied"]
CONTACT_FLAGS: tuple[ContactFlag, ...] = get_args(ContactFlag)
"""Contact flags that block outreach: an import may set one, never clear it."""

DONE: Literal["__end__"] = "__end__"
"""LangGraph's END, typed as the literal that route functions return."""


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: later keys win, earlier keys stay."""
    return {**(left or {}), **(right or {})}


class Draft(TypedDict):
    """An email a person will approve: no signature or footer is added after this."""

    subject: str
    body: str


class Brief(TypedDict):
    """The researcher's pick of what the composer may say."""

    facts: list[str]
    skipped: list[str]


class OrchestratorInput(TypedDict, total=False):
    """What a caller gives: a contact, and from a campaign the touch, plan and offer."""

    contact_id: Required[str]
    touch: int
    """1-based touch number within a campaign; absent for a one-off draft."""
    angle: str | None
    tone: str | None
    offer: str | None
    sender_name: str | None
    sender_company: str | None
    feedback: str | None
    """A person's feedback on the previous draft of this touch."""
    campaign_id: str | None
    depth: int
    """Hand-offs that led to this run: 1 when a person asked for it, 2 from a campaign's coach."""


class OrchestratorOutput(TypedDict, total=False):
    """What the graph returns (SPEC §16 `draft --json`)."""

    contact_id: str
    action: Action
    blocked_reason: BlockReason | None
    block_detail: str | None
    skip_reason: str | None
    draft: Draft | None
    graph_meta: dict[str, Any]
    provenance: dict[str, Provenance]
    path: list[str]
    llm_calls: list[dict[str, Any]]
    report: Report | None
    """What this run reports to the seat that delegated it (SPEC §12)."""
    audit: list[AuditEvent]
    """The hand-offs and reports of this run, for the caller to write to the audit log."""


class OrchestratorState(OrchestratorInput, total=False):
    """Everything the nodes read and write during one draft."""

    contact: ContactRecord
    company: CompanyRecord | None
    facts: list[FactRecord]
    history: list[MessageRecord]
    memory: dict[str, Any]
    action: Action
    blocked_reason: BlockReason | None
    block_detail: str | None
    skip_reason: str | None
    role_plan: list[Role]
    brief: Brief | None
    draft: Draft | None
    revisions: int
    graph_meta: Annotated[dict[str, Any], merge_dicts]
    provenance: Annotated[dict[str, Provenance], merge_dicts]
    path: Annotated[list[str], operator.add]
    llm_calls: Annotated[list[dict[str, Any]], operator.add]
    report: Report | None
    audit: Annotated[list[AuditEvent], operator.add]
