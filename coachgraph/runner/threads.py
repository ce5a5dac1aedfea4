"""What a person sees and settles about threads: status, retries, unknown sends, inbound events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from coachgraph.mail.message import OutgoingEmail
from coachgraph.mail.outbox import outcome_counts, resend, settle, unknown_row
from coachgraph.mail.transport import make_transport
from coachgraph.runner.tick import check_config
from coachgraph.store import due_index
from coachgraph.store.audit import append_events
from coachgraph.store.crm import CrmStore, campaigns, enrollments
from coachgraph.store.due_index import LIVE_STATUSES
from nodes.campaign.schedule_next import effective_plan
from nodes.campaign.send_touch import why_not_send
from schemas.context import Context
from schemas.crm import OPT_OUT_FLAG
from schemas.errors import NotFoundError, UserError
from schemas.supervision import audit_event, public_report
from schemas.values import iso, now_from


def status_rows(crm: CrmStore, campaign_id: str | None = None) -> list[dict[str, Any]]:
    """One row per enrollment (SPEC §16 `status --json`)."""
    if campaign_id and crm.get_campaign(campaign_id) is None:
        raise NotFoundError(f"unknown campaign id {campaign_id!r}")
    rows = []
    sends = outcome_counts(crm)
    paused = paused_campaigns(crm)
    for e in due_index.list_enrollments(crm, campaign_id):
        counts = sends.get(e["thread_id"], {"sent": 0, "unknown": 0})
        plan = json.loads(e["plan"]) if e["plan"] else dict(effective_plan({}))  # type: ignore[typeddict-item]
        rows.append(
            {
                "thread_id": e["thread_id"],
                "campaign_id": e["campaign_id"],
                "contact_id": e["contact_id"],
                "status": shown_status(e["status"], e["campaign_id"] in paused),
                "touches_sent": counts["sent"],
                "touches_unknown": counts["unknown"],
                "next_due_at": e["next_due_at"],
                "plan": {
                    k: plan.get(k)
                    for k in ("source", "cadence_days", "max_touches", "tone", "angle")
                },
                "stop_reason": e["stop_reason"],
                "last_report": public_report(json.loads(e["last_report"] or "null")),
                "attempts": e["attempts"],
                "last_error": e["last_error"],
            }
        )
    return rows


def shown_status(status: str, paused: bool) -> str:
    """A live thread of a paused campaign shows `paused`; an ended one shows how it ended."""
    return "paused" if paused and status in LIVE_STATUSES else status


def paused_campaigns(crm: CrmStore) -> set[str]:
    """Ids of the campaigns a person paused."""
    query = select(campaigns.c.id).where(campaigns.c.status == "paused")
    with crm.connect() as conn:
        return set(conn.execute(query).scalars())


def retry_thread(crm: CrmStore, thread_id: str, now: datetime) -> None:
    """Revive a `failed` thread: active, due now, a fresh budget, its draft as it was.

    Raises:
        NotFoundError: no such thread.
        UserError: the thread has not failed.
    """
    if due_index.revive(crm, thread_id, now):
        event = audit_event(
            "decision",
            "person",
            "coach",
            "failed thread revived (`retry`)",
            iso(now),
            thread_id=thread_id,
            decision="retry",
        )
        append_events(crm, [event])
        return
    enrollment = due_index.get_enrollment(crm, thread_id)
    if enrollment is None:
        raise NotFoundError(f"unknown thread {thread_id!r} (see `coachgraph status`)")
    raise UserError(f"thread {thread_id} is {enrollment['status']}, not failed: nothing to retry")


def reconcile(context: Context, key: str, *, delivered: bool) -> dict[str, Any]:
    """A person settles an `unknown` send: delivered, or not (then it is sent once more)."""
    crm = CrmStore(context.db_url)
    row = unknown_row(crm, key)
    now = now_from(context.now)
    if delivered:
        settle(crm, key, "sent", iso(now), "a person confirmed it was delivered")
        return {"idempotency_key": key, "status": "sent", "resent": False}
    check_config(context)
    enrollment = due_index.get_enrollment(crm, row["thread_id"])
    contact_id = enrollment["contact_id"] if enrollment else ""
    if enrollment and enrollment["status"] == "released":
        note = "not delivered; not sent again, the thread was released"
        settle(crm, key, "failed", iso(now), note)
        return {"idempotency_key": key, "status": "failed", "resent": False, "reason": note}
    if reason := why_not_send(crm.standing(contact_id, row["to_email"]), row["to_email"]):
        note = f"not delivered; not sent again, the contact is now {reason}"
        settle(crm, key, "failed", iso(now), note)
        return {"idempotency_key": key, "status": "failed", "resent": False, "reason": note}
    email = _resend_email(crm, row, enrollment, now, context)
    outcome = resend(crm, make_transport(context), email)
    return {"idempotency_key": key, "status": outcome, "resent": True, "sent_at": iso(now)}


def _resend_email(
    crm: CrmStore,
    row: dict[str, Any],
    enrollment: dict[str, Any] | None,
    now: datetime,
    context: Context,
) -> OutgoingEmail:
    campaign = crm.get_campaign(enrollment["campaign_id"]) if enrollment else None
    if campaign is None:
        raise UserError(f"outbox row {row['idempotency_key']}: its campaign no longer exists")
    draft = {"to": row["to_email"], "subject": row["subject"], "body": row["body"]}
    return OutgoingEmail.from_campaign(campaign, row["idempotency_key"], draft, now, context)


def record_inbound(
    crm: CrmStore, contact_id: str, *, kind: str, body: str | None, now: datetime
) -> None:
    """Record a reply, bounce or unsubscribe; the contact's threads stop at their next run."""
    contact = crm.get_contact(contact_id)
    if contact is None:
        raise NotFoundError(f"unknown contact id {contact_id!r}")
    flag = {"reply": "replied", "bounce": "bounced", "unsubscribe": "unsubscribed"}[kind]
    crm.add_messages(
        [
            {
                "contact_id": contact_id,
                "direction": "in",
                "subject": f"({kind})",
                "body": body or "",
                "at": iso(now),
            }
        ]
    )
    crm.set_contact_flags(contact_id, **{flag: True})
    event = audit_event(
        "inbound", "contact", "coach", f"{kind} from contact {contact_id}", iso(now), kind=kind
    )
    append_events(crm, [event | {"metadata": event["metadata"] | {"contact_id": contact_id}}])
    if flag in OPT_OUT_FLAG:  # permanent: no import can lift it (SPEC §5)
        crm.suppress(contact["email"], flag, source="reply command", at=iso(now))
    # Threads waiting on a person keep their draft; send_touch re-checks and stops them.
    with crm.connect(write=True) as conn:
        conn.execute(
            enrollments.update()
            .where(enrollments.c.contact_id == contact_id, enrollments.c.status == "active")
            .values(next_due_at=iso(now))
        )
