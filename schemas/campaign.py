"""AA02 campaign-graph schemas: input, internal state (plain JSON), and the plan record."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, Required, TypedDict

from schemas.orchestrator import merge_dicts
from schemas.provenance import Provenance
from schemas.supervision import Report

Status = Literal[
    "active", "awaiting_approval", "held", "completed", "stopped", "failed", "released"
]
Outcome = Literal["sent", "unknown", "skipped"]


class PlanRecord(TypedDict):
    """The plan a thread follows for its whole life: the coach's, or the defaults."""

    source: Literal["coach", "default"]
    angle: str | None
    tone: str | None
    cadence_days: list[int]
    max_touches: int
    stop_criteria: str


class PendingTouch(TypedDict):
    """The draft waiting for a person (one at a time per thread)."""

    touch: int
    to: str
    subject: str
    body: str
    review_passed: bool
    review_notes: list[str]
    facts_used: list[str]
    edited: bool
    feedback_rounds: int
    drafted_at: NotRequired[str]
    """When the draft went to a person (for approval latency)."""


class TouchRecord(TypedDict):
    """What became of one touch."""

    touch: int
    outcome: Outcome
    at: str
    """When it was sent or skipped (UTC ISO); the next gap counts from here."""
    message_id: str | None
    edited: bool
    subject: NotRequired[str]
    """The subject it went out with; follow-ups answer the first one (`Re:`)."""


class CampaignInput(TypedDict, total=False):
    """What a tick hands a thread: who it is about and when it was enrolled."""

    campaign_id: Required[str]
    contact_id: Required[str]
    enrolled_at: str


class CampaignState(CampaignInput, total=False):
    """Everything one (campaign, contact) thread remembers between ticks."""

    plan: PlanRecord | None
    """None until a coach plan is stored; None means the default plan (flag off)."""
    touches: list[TouchRecord]
    pending: PendingTouch | None
    feedback: str | None
    decision: dict[str, Any] | None
    status: Status
    stop_reason: str | None
    provenance: Annotated[dict[str, Provenance], merge_dicts]
    last_report: Report | None
    scheduled_for: str | None
    """An approved touch waits for its send window or mailbox cap until then (UTC ISO)."""
    """The latest report that reached this thread (or that it made), shown by `status`."""
