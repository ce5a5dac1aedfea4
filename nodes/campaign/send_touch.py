"""send_touch: the only node that sends, after a person accepted or edited the draft."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from checkpoints.threads import campaign_thread_id
from nodes.campaign.await_approval import pending_touch
from nodes.campaign.check_reply import hold
from nodes.campaign.compose_touch import failed
from nodes.delegation import delegation_event, refusal
from nodes.email.recall_memory import remember_touch
from nodes.email.safety_gate import stop_reason
from schemas.campaign import CampaignState, TouchRecord
from schemas.context import Context, context_of
from schemas.door import Delivery, Door, Send, Standing
from schemas.supervision import ROOT_DEPTH, Report, make_report
from schemas.values import iso, normalize_email


def send_touch(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Send the approved draft exactly once, unless the contact stopped meanwhile."""
    context = context_of(runtime)
    door = context.door
    pending = pending_touch(state)
    thread_id = campaign_thread_id(state["campaign_id"], state["contact_id"])
    task, at = f"touch {pending['touch']}: send as approved", iso(door.now())
    why = refusal(context, "person", "sender", ROOT_DEPTH)
    ids = {"thread_id": thread_id, "campaign_id": state["campaign_id"]}
    door.audit([delegation_event("person", "sender", task, at, ROOT_DEPTH, refused=why, **ids)])
    if why:
        return failed(f"hand-off to sender refused: {why}", at) | {"decision": None}
    standing = door.standing(state["contact_id"], pending["to"])
    if reason := why_not_send(standing, pending["to"]):
        if reason == "retention_hold":
            return hold(state, door, standing.retention or "retention hold") | {"decision": None}
        return {"status": "stopped", "stop_reason": reason, "pending": None, "decision": None}
    send = Send(
        thread_id=thread_id,
        touch=pending["touch"],
        campaign_id=state["campaign_id"],
        to=pending["to"],
        subject=pending["subject"],
        body=pending["body"],
        edited=pending["edited"],
        timezone=standing.contact["timezone"] if standing.contact else None,
        contact_id=state["contact_id"],
    )
    delivery = door.deliver(send)
    if delivery.outcome == "withdrawn":  # a person released the thread: nothing went out
        return {"status": "released", "stop_reason": "released by a person", "pending": None}
    if delivery.outcome == "scheduled":  # the thread comes back here when the slot opens
        report = scheduled_report(send, delivery)
        return {"status": "active", "scheduled_for": iso(delivery.at), "last_report": report}
    if delivery.outcome == "bounced":
        report = make_report(
            "failed", f"touch {send.touch} bounced: {send.to} refused", at, "sender"
        )
        return {"status": "stopped", "stop_reason": "bounced", "pending": None} | {
            "decision": None,
            "scheduled_for": None,
            "last_report": report,
        }
    record_touch(door, runtime.store, send, delivery, state["contact_id"], pending["facts_used"])
    record = TouchRecord(
        touch=pending["touch"],
        outcome="sent" if delivery.outcome == "sent" else "unknown",
        at=iso(delivery.at),  # an earlier crashed attempt's time: the next gap counts from it
        message_id=delivery.message_id,
        edited=pending["edited"],
        subject=pending["subject"],
    )
    return {
        "touches": [*state.get("touches", []), record],
        "pending": None,
        "scheduled_for": None,
        "last_report": sent_report(pending["touch"], delivery),
    }


def scheduled_report(send: Send, delivery: Delivery) -> Report:
    """The sender's report for an approved touch that waits for its window or cap."""
    summary = f"touch {send.touch} approved; goes out at {iso(delivery.at)} (window or cap)"
    return make_report("partial", summary, iso(delivery.at), "sender", touch=send.touch)


def sent_report(touch: int, delivery: Delivery) -> Report:
    """The sender's report: sent, or (for a person to reconcile) maybe sent."""
    at = iso(delivery.at)
    if delivery.outcome == "sent":
        return make_report("success", f"touch {touch} sent", at, "sender", touch=touch)
    summary = f"touch {touch} may have been sent: reconcile it (`coachgraph outbox`)"
    return make_report("needs_attention", summary, at, "sender", touch=touch)


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
