"""The door: the one way nodes reach the database, the mail transport, the clock and the model.

Nodes never open a database, a socket or a model client themselves. The runner puts a
door on the run's context (`Context.with_door`); a test puts in-memory fakes there and
runs a whole graph on `InMemorySaver` with no file and no socket.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

from schemas.crm import CompanyRecord, ContactRecord, FactRecord, MessageRecord
from schemas.llm import LLMResult
from schemas.supervision import AuditEvent

if TYPE_CHECKING:
    from schemas.context import Context

T = TypeVar("T", bound=BaseModel)
Outcome = Literal["sent", "unknown", "withdrawn", "scheduled", "bounced"]
"""`withdrawn`: released before the send, nothing went out; `scheduled`: waiting for the
contact's send window or the mailbox's cap (`at` says until when); `bounced`: the server
refused the recipient for good (a hard bounce, never retried)."""


class JsonModel(Protocol):
    """A model at one tier that answers one JSON object per call, never raising for trouble."""

    def complete(self, *, system: str, user: str, schema: type[T], purpose: str) -> LLMResult[T]:
        """Ask for one JSON object matching `schema`."""
        ...


@dataclass(frozen=True)
class Standing:
    """What the last check before a draft or a send needs, read together."""

    contact: ContactRecord | None
    """The contact, or None when it is no longer in the CRM."""
    suppression: str | None
    """Why the contact's address is suppressed, or None."""
    retention: str | None
    """Why the contact's company is held by the retention team, or None."""
    address_suppression: str | None = None
    """Why another address a draft was meant for is suppressed, when one was asked about."""


@dataclass(frozen=True)
class Send:
    """One approved touch to deliver at most once."""

    thread_id: str
    touch: int
    campaign_id: str
    to: str
    subject: str
    body: str
    """The body as approved; the door adds nothing but the transport's headers."""
    edited: bool = False
    """Whether a person edited the draft before approving it (for the audit log)."""
    timezone: str | None = None
    """The contact's timezone, for its send window (the campaign's when None)."""
    contact_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """How a send ended: outcome, when it was really attempted, and its Message-ID."""

    outcome: Outcome
    at: datetime
    message_id: str


class Door(Protocol):
    """Everything a node may ask of the world outside its state."""

    def now(self) -> datetime:
        """The run's "now" (simulated in tests and demos)."""
        ...

    def model(self, tier: str) -> JsonModel:
        """The model for a tier (it reports itself unavailable offline)."""
        ...

    def contact(self, contact_id: str) -> ContactRecord | None:
        """One contact by id."""
        ...

    def company(self, domain: str | None) -> CompanyRecord | None:
        """One company by domain."""
        ...

    def top_facts(self, domain: str | None, limit: int) -> list[FactRecord]:
        """Up to `limit` facts, highest confidence first."""
        ...

    def history(self, contact_id: str) -> list[MessageRecord]:
        """The latest messages with a contact, oldest first."""
        ...

    def campaign(self, campaign_id: str) -> dict[str, Any] | None:
        """One campaign row (offer, sender name and address)."""
        ...

    def standing(self, contact_id: str, address: str | None = None) -> Standing:
        """The contact, its suppression and its company's retention hold, in one read.

        With `address`, also whether that address (a draft's recipient) is suppressed.
        """
        ...

    def block_reasons(self, contact: ContactRecord) -> Standing:
        """The suppression and retention reasons for a contact already loaded."""
        ...

    def deliver(self, send: Send) -> Delivery:
        """Send once: what was sent stays sent, what may have been is never sent again."""
        ...

    def record_sent(self, send: Send, delivery: Delivery, contact_id: str) -> None:
        """Add the sent touch to the contact's history; a second call adds nothing."""
        ...

    def audit(self, events: Sequence[AuditEvent]) -> None:
        """Append events to the audit log, in order, in one write."""
        ...

    def instructions(self, seat: str) -> str | None:
        """The seat's current promoted instructions (SPEC §14), or None for the shipped ones."""
        ...


DoorFactory = Callable[["Context"], Door]
"""Builds the door for a run's context."""

_default_door: DoorFactory | None = None


def install_default_door(factory: DoorFactory) -> None:
    """Let runs whose context carries no door (LangGraph Studio) build one from the context."""
    global _default_door
    _default_door = factory


def default_door(context: Context) -> Door | None:
    """The door an installed factory builds for `context`, or None."""
    return _default_door(context) if _default_door is not None else None
