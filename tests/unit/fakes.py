"""In-memory fakes for the door, so both graphs run on InMemorySaver with no file or socket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from schemas.context import Context
from schemas.crm import CompanyRecord, ContactRecord, FactRecord, MessageRecord
from schemas.door import Delivery, Send, Standing
from schemas.llm import LLMResult
from schemas.supervision import AuditEvent
from schemas.values import email_sha256, iso, parse_instant, suppression_hashes

T0 = parse_instant("2026-11-02T09:00:00Z")


def contact(contact_id: str = "k1", **changes: Any) -> ContactRecord:
    """A contact nothing blocks, at Acme."""
    record: dict[str, Any] = {
        "id": contact_id,
        "email": f"{contact_id}@acme.example",
        "first_name": "Ana",
        "last_name": "Silva",
        "title": "Head of Sales",
        "company_domain": "acme.example",
        "timezone": None,
        "do_not_contact": False,
        "bounced": False,
        "unsubscribed": False,
        "replied": False,
    }
    return record | changes  # type: ignore[return-value]


class OfflineModel:
    """A model that is never reachable, as with no key: every caller fails open."""

    calls = 0

    def complete(
        self, *, system: str, user: str, schema: type[BaseModel], purpose: str
    ) -> LLMResult[Any]:
        """Report the model unavailable (no request is made)."""
        OfflineModel.calls += 1
        return LLMResult(value=None, error="unavailable: fake offline model", unavailable=True)


@dataclass
class FakeDoor:
    """The CRM, clock, transport and model as plain Python values."""

    contacts: dict[str, ContactRecord] = field(default_factory=lambda: {"k1": contact()})
    companies: dict[str, CompanyRecord] = field(
        default_factory=lambda: {
            "acme.example": {"domain": "acme.example", "name": "Acme", "industry": "Logistics"}
        }
    )
    facts: dict[str, list[FactRecord]] = field(
        default_factory=lambda: {
            "acme.example": [
                {"fact": "Acme opened a depot in Lyon", "confidence": 0.9, "source": "news"},
                {"fact": "Acme hired 40 sales reps", "confidence": 0.8, "source": "news"},
            ]
        }
    )
    messages: dict[str, list[MessageRecord]] = field(default_factory=dict)
    campaigns: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "q4": {
                "id": "q4",
                "offer": "a 20-minute walkthrough",
                "sender_name": "Sam",
                "sender_email": "sam@seller.example",
            }
        }
    )
    suppressed: dict[str, str] = field(default_factory=dict)
    """Suppression reasons by address hash."""
    retention: dict[str, str] = field(default_factory=dict)
    clock: datetime = T0
    sent: dict[str, Delivery] = field(default_factory=dict)
    """Deliveries by idempotency key: what the transport was handed."""
    transport_calls: int = 0
    released: set[str] = field(default_factory=set)
    """Threads a person released: their sends are withdrawn."""
    audit_log: list[AuditEvent] = field(default_factory=list)

    def for_context(self, _context: Context) -> FakeDoor:
        """The door factory a context takes: this same fake, whatever the context."""
        return self

    def suppress(self, email: str, reason: str = "requested") -> None:
        """Put an address on the suppression list."""
        self.suppressed[email_sha256(email)] = reason

    def advance(self, days: float) -> None:
        """Move the clock."""
        self.clock += timedelta(days=days)

    def now(self) -> datetime:
        return self.clock

    def model(self, tier: str) -> OfflineModel:
        return OfflineModel()

    def contact(self, contact_id: str) -> ContactRecord | None:
        return self.contacts.get(contact_id)

    def company(self, domain: str | None) -> CompanyRecord | None:
        return self.companies.get(domain or "")

    def top_facts(self, domain: str | None, limit: int) -> list[FactRecord]:
        ranked = sorted(self.facts.get(domain or "", []), key=lambda f: -f["confidence"])
        return ranked[:limit]

    def history(self, contact_id: str) -> list[MessageRecord]:
        return list(self.messages.get(contact_id, []))

    def campaign(self, campaign_id: str) -> dict[str, Any] | None:
        return self.campaigns.get(campaign_id)

    def standing(self, contact_id: str, address: str | None = None) -> Standing:
        found = self.contacts.get(contact_id)
        standing = self.block_reasons(found) if found else Standing(None, None, None)
        extra = self._suppression(address) if address else None
        return Standing(standing.contact, standing.suppression, standing.retention, extra)

    def block_reasons(self, contact: ContactRecord) -> Standing:
        held = self.retention.get(contact["company_domain"] or "")
        return Standing(contact, self._suppression(contact["email"]), held)

    def deliver(self, send: Send) -> Delivery:
        key = f"{send.thread_id}:touch:{send.touch}"
        if send.thread_id in self.released:
            return Delivery("withdrawn", self.clock, f"<withdrawn-{key}@seller.example>")
        if key not in self.sent:
            self.transport_calls += 1
            self.sent[key] = Delivery("sent", self.clock, f"<{len(self.sent) + 1}@seller.example>")
        return self.sent[key]

    def record_sent(self, send: Send, delivery: Delivery, contact_id: str) -> None:
        history = self.messages.setdefault(contact_id, [])
        if not any(m["at"] == iso(delivery.at) and m["direction"] == "out" for m in history):
            history.append(
                {
                    "direction": "out",
                    "subject": send.subject,
                    "body": send.body,
                    "at": iso(delivery.at),
                }
            )

    def audit(self, events: Sequence[AuditEvent]) -> None:
        self.audit_log.extend(events)

    def instructions(self, seat: str) -> str | None:
        """No promoted instructions: every seat uses the shipped ones."""
        return None

    def audit_types(self) -> list[str]:
        """The audit log's event types, in order."""
        return [e["type"] for e in self.audit_log]

    def _suppression(self, email: str) -> str | None:
        return next(
            (self.suppressed[h] for h in suppression_hashes(email) if h in self.suppressed), None
        )
