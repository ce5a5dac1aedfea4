"""send_touch: the only node that sends, after a person accepted or edited the draft."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from checkpoints.threads import campaign_thread_id
from nodes.campaign.await_approval import pending_touch
from nodes.email.recall_memory import remember_touch
from nodes.email.safety_gate import stop_reason
from schemas.campaign import CampaignState, TouchRecord
from schemas.context import Context, context_of
from schemas.door import Delivery, Door, Send, Standing
from schemas.values import iso, normalize_email


def send_touch(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Send the approved draft exactly once, unless the contact stopped meanwhile."""
    door = context_of(runtime).door
    pending = pending_touch(state)
    standing = door.standing(state["contact_id"], pending["to"])
    if reason := why_not_send(standing, pending["to"]):
        return {"status": "stopped", "stop_reason": reason, "pending": None, "decision": None}
    send = Send(
        thread_id=campaign_thread_id(state["campaign_id"], state["contact_id"]),
        touch=pending["touch"],
        campaign_id=state["campaign_id"],
        to=pending["to"],
        subject=pending["subject"],
        body=pending["body"],
    )
    delivery = door.deliver(send)
    record_touch(door, runtime.store, send, delivery, state["contact_id"], pending["facts_used"])
    record = TouchRecord(
        touch=pending["touch"],
        outcome=delivery.outcome,
        at=iso(delivery.at),  # an earlier crashed attempt's time: the next gap counts from it
        message_id=delivery.message_id,
        edited=pending["edited"],
    )
    return {"touches": [*state.get("touches", []), record], "pending": None}


def record_touch(
    door: Door,
    store: BaseStore | None,
    send: Send,
    delivery: Delivery,
    contact_id: str,
    facts_used: list[str],
) -> None:
    """Add a delivered touch to the contact's history and memory; once per touch."""
    door.record_sent(send, delivery, contact_id)
    if store is not None:
        remember_touch(
            store, contact_id, key=delivery.message_id, subject=send.subject, facts_used=facts_used
        )


def why_not_send(standing: Standing, to: str) -> str | None:
    """Last check before sending: the contact may still be emailed, at this very address.

    `standing` is the contact's, read with `to` as its address to check.
    """
    if reason := stop_reason(standing):
        return reason
    if standing.address_suppression:
        return "suppressed"
    if standing.contact is None or normalize_email(to) != standing.contact["email"]:
        return "address_changed"
    return None
