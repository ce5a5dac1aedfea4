"""The runner's door: what nodes may ask of the CRM store, the mail transport, clock and model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from coachgraph.mail.message import OutgoingEmail
from coachgraph.mail.outbox import deliver, earlier_sends, idempotency_key
from coachgraph.mail.pacing import Slot
from coachgraph.mail.transport import make_transport
from coachgraph.mail.windows import SendWindow
from coachgraph.store.audit import append_events
from coachgraph.store.crm import CrmStore
from coachgraph.store.engine import context_timeouts
from coachgraph.store.prompts import current_instructions
from schemas.context import Context
from schemas.crm import MAX_FACTS, CompanyRecord, ContactRecord, FactRecord, MessageRecord
from schemas.door import Delivery, JsonModel, Send, Standing
from schemas.errors import UserError
from schemas.supervision import AuditEvent, audit_event
from schemas.values import iso, now_from, reply_subject, without_reply_prefix


class CrmDoor:
    """The door over coachgraph's own database, transport and model, for one run's context."""

    def __init__(self, context: Context) -> None:
        self.context = context
        """The run's context: database, transport, model settings and `now`."""
        self.crm = CrmStore(context.db_url, timeouts=context_timeouts(context))
        """The CRM store the context names."""

    def now(self) -> datetime:
        """The context's `now`, else the clock."""
        return now_from(self.context.now)

    def model(self, tier: str) -> JsonModel:
        """The model for a tier, from the context's settings."""
        # Imported here: the openai SDK costs half a second at start-up, and most commands
        # (and `serve` answering its first request) never call a model.
        from coachgraph.llm.client import make_llm

        return make_llm(tier, self.context)  # type: ignore[arg-type]

    def contact(self, contact_id: str) -> ContactRecord | None:
        """One contact by id."""
        return self.crm.get_contact(contact_id)

    def company(self, domain: str | None) -> CompanyRecord | None:
        """One company by domain."""
        return self.crm.get_company(domain)

    def top_facts(self, domain: str | None, limit: int = MAX_FACTS) -> list[FactRecord]:
        """Up to `limit` facts, highest confidence first."""
        return self.crm.top_facts(domain, limit)

    def history(self, contact_id: str) -> list[MessageRecord]:
        """The latest messages with a contact, oldest first."""
        return self.crm.history(contact_id)

    def campaign(self, campaign_id: str) -> dict[str, Any] | None:
        """One campaign row."""
        return self.crm.get_campaign(campaign_id)

    def standing(self, contact_id: str, address: str | None = None) -> Standing:
        """The contact with its suppression and retention hold (and `address`'s), in one read."""
        return self.crm.standing(contact_id, address)

    def block_reasons(self, contact: ContactRecord) -> Standing:
        """Suppression and retention for a loaded contact, in one read."""
        return self.crm.block_reasons(contact)

    def deliver(self, send: Send) -> Delivery:
        """Send one approved touch at most once, through the transport the context selects.

        Raises:
            RuntimeError: the campaign no longer exists (nothing is sent).
        """
        campaign = self.crm.get_campaign(send.campaign_id)
        if campaign is None:
            raise RuntimeError(f"campaign {send.campaign_id!r} no longer exists; nothing sent")
        key = idempotency_key(send.thread_id, send.touch)
        draft = {"to": send.to, "subject": send.subject, "body": send.body}
        now = self.now()  # one reading: the window, the pacing and the message agree on it
        email = self._threaded(
            campaign, send, OutgoingEmail.from_campaign(campaign, key, draft, now, self.context)
        )
        transport = make_transport(self.context)
        slot = self._slot(campaign, send, now)
        event = _send_event(send, now, email.subject)
        delivery = deliver(self.crm, transport, email, send.thread_id, send.touch, event, slot)
        if delivery.outcome == "bounced":
            self._hard_bounce(send)
        return delivery

    def _threaded(
        self, campaign: dict[str, Any], send: Send, email: OutgoingEmail
    ) -> OutgoingEmail:
        """A follow-up replies in the thread of the earlier touches, `Re:` the first subject.

        A subject a person edited is sent as they wrote it (still as a reply); a campaign
        with `new_thread_per_touch` starts a new conversation with every touch.
        """
        settings = json.loads(campaign.get("settings") or "{}")
        if settings.get("new_thread_per_touch"):  # a new conversation is never a "Re:"
            return replace(email, subject=without_reply_prefix(email.subject) or email.subject)
        earlier = earlier_sends(self.crm, send.thread_id, send.touch)
        if not earlier:
            return email
        subject = email.subject if send.edited else reply_subject(earlier[0][1])
        return replace(email, subject=subject, references=tuple(m for m, _ in earlier))

    def _slot(self, campaign: dict[str, Any], send: Send, now: datetime) -> Slot:
        """The send window, daily cap and pacing this send waits for.

        Raises:
            UserError: the campaign's send window never opens.
        """
        settings = json.loads(campaign.get("settings") or "{}")
        window = SendWindow.from_settings(settings, self.context.send_days, self.context.send_hours)
        opens = window.opening(now, send.timezone)
        if opens is None:
            raise UserError(f"campaign {send.campaign_id}: its send window never opens")
        return Slot(
            mailbox=campaign["sender_email"],
            opens_at=opens,
            daily_cap=int(settings.get("daily_cap") or self.context.daily_cap),
            min_gap_s=float(settings.get("min_gap_s", self.context.min_gap_s)),
        )

    def _hard_bounce(self, send: Send) -> None:
        """A recipient the server refused for good: bounced and suppressed everywhere."""
        at = iso(self.now())
        self.crm.suppress(send.to, "bounced", source="smtp 5xx at send", at=at)
        if send.contact_id is not None:
            self.crm.set_contact_flags(send.contact_id, bounced=True)

    def record_sent(self, send: Send, delivery: Delivery, contact_id: str) -> None:
        """Add the touch to the contact's history, keyed by its Message-ID (idempotent)."""
        self.crm.add_messages(
            [
                {
                    "contact_id": contact_id,
                    "direction": "out",
                    "subject": send.subject,
                    "body": send.body,
                    "at": iso(delivery.at),
                    "thread_id": send.thread_id,
                    "message_id": delivery.message_id,
                }
            ]
        )

    def audit(self, events: Sequence[AuditEvent]) -> None:
        """Append events to the audit log in one transaction."""
        append_events(self.crm, events)

    def instructions(self, seat: str) -> str | None:
        """The seat's current promoted instructions, or None (read at most every 30 s)."""
        return current_instructions(self.crm, seat)


def _send_event(send: Send, now: datetime, subject: str) -> AuditEvent:
    """The audit row written with the send's outcome, in its transaction."""
    return audit_event(
        "send",
        "sender",
        "contact",
        f"touch {send.touch} to {send.to}, {subject!r}",
        iso(now),
        thread_id=send.thread_id,
        campaign_id=send.campaign_id,
        touch=send.touch,
        to=send.to,
        subject=subject,
        edited=send.edited,
        idempotency_key=idempotency_key(send.thread_id, send.touch),
    )


def ensure_door(context: Context) -> Context:
    """The context as it is when it carries a door (a test's fakes), else with the runner's."""
    return context if context.has_door else context.with_door(CrmDoor)
