"""send_touch: the only node that sends, after a person accepted or edited the draft."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime

from checkpoints.threads import campaign_thread_id
from coachgraph.mail.outbox import deliver, idempotency_key
from coachgraph.mail.transport import OutgoingEmail, message_id_for, transport_for
from coachgraph.store.crm import CrmStore
from nodes.memory import remember_touch
from nodes.safety import stop_reason
from schemas.campaign import CampaignState, PendingTouch, TouchRecord
from schemas.context import Context, context_of
from schemas.orchestrator import DONE
from schemas.values import iso, normalize_email, now_from


def send_touch(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Send the approved draft exactly once, unless the contact stopped meanwhile."""
    context = context_of(runtime)
    crm = CrmStore(context.db_url)
    pending = _pending(state)
    if reason := why_not_send(crm, state["contact_id"], pending["to"]):
        return {"status": "stopped", "stop_reason": reason, "pending": None, "decision": None}
    thread_id = campaign_thread_id(state["campaign_id"], state["contact_id"])
    email = _email(crm, state, pending, thread_id, now_from(context.now))
    delivery = deliver(crm, transport_for(context), email, thread_id, pending["touch"])
    at = iso(delivery.at)  # an earlier crashed attempt's time: the next gap counts from it
    message_id = message_id_for(email.idempotency_key, email.sender_email)
    crm.add_messages(
        [
            {
                "contact_id": state["contact_id"],
                "direction": "out",
                "subject": email.subject,
                "body": email.body,
                "at": at,
                "thread_id": thread_id,
                "message_id": message_id,
            }
        ]
    )
    if runtime.store is not None:
        remember_touch(
            runtime.store,
            state["contact_id"],
            subject=email.subject,
            facts_used=pending["facts_used"],
        )
    record = TouchRecord(
        touch=pending["touch"],
        outcome=delivery.outcome,
        at=at,
        message_id=message_id,
        edited=pending["edited"],
    )
    return {"touches": [*state.get("touches", []), record], "pending": None}


def why_not_send(crm: CrmStore, contact_id: str, to: str) -> str | None:
    """Last check before sending: the contact may still be emailed, at this very address."""
    if reason := stop_reason(crm, contact_id):
        return reason
    if crm.suppression_reason(to):
        return "suppressed"
    contact = crm.get_contact(contact_id)
    if contact is None or normalize_email(to) != contact["email"]:
        return "address_changed"
    return None


def route_after_send(state: CampaignState) -> Literal["schedule_next", "__end__"]:
    """A thread stopped at the last moment ends here; otherwise schedule what comes next."""
    return DONE if state["status"] == "stopped" else "schedule_next"


def _email(
    crm: CrmStore, state: CampaignState, pending: PendingTouch, thread_id: str, now: Any
) -> OutgoingEmail:
    campaign = crm.get_campaign(state["campaign_id"])
    if campaign is None:
        raise RuntimeError(f"campaign {state['campaign_id']!r} no longer exists; nothing sent")
    key = idempotency_key(thread_id, pending["touch"])
    return OutgoingEmail.from_campaign(campaign, key, pending, now)


def _pending(state: CampaignState) -> PendingTouch:
    pending = state.get("pending")
    if pending is None:
        raise RuntimeError("send_touch reached with no approved draft")
    return pending
