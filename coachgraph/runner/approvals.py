"""A person's decisions on drafts: list what waits, check a decision, resume the thread at once."""

from __future__ import annotations

import json
from typing import Any

from langgraph.types import Command

from coachgraph.runner.campaigns import CampaignRuntime
from coachgraph.runner.threads import paused_campaigns
from coachgraph.runner.tick import (
    check_config,
    record_failure,
    record_outcome,
    run_thread,
    touch_counts,
)
from coachgraph.store import due_index
from nodes.campaign.await_approval import unsendable
from nodes.delegation import MAX_FEEDBACK_CHARS
from nodes.email.review_draft import review_email
from schemas.approval import HumanResponse
from schemas.errors import ConfigError, NotFoundError, UserError
from schemas.values import iso, now_from


def pending_approvals(rt: CampaignRuntime) -> list[dict[str, Any]]:
    """Every draft waiting on a person (SPEC §16 `approvals list --json`)."""
    rows = due_index.list_enrollments(rt.crm, status="awaiting_approval")
    return [item for row in rows if (item := approval_item(rt, row["thread_id"]))]


def approval_item(rt: CampaignRuntime, thread_id: str) -> dict[str, Any] | None:
    """One pending draft with its inbox request, or None when the thread is not waiting."""
    snapshot = rt.app.get_state(rt.config(thread_id))
    if not snapshot.interrupts:
        return None
    values = snapshot.values
    pending = values["pending"]
    request = snapshot.interrupts[0].value[0]
    return {
        "thread_id": thread_id,
        "campaign_id": values["campaign_id"],
        "contact_id": values["contact_id"],
        "touch": pending["touch"],
        "to": pending["to"],
        "subject": pending["subject"],
        "body": pending["body"],
        "review_passed": pending["review_passed"],
        "review_notes": pending["review_notes"],
        "feedback_rounds": pending["feedback_rounds"],
        "request": request,
        "interrupt_id": snapshot.interrupts[0].id,
    }


def waiting_item(rt: CampaignRuntime, thread_id: str) -> dict[str, Any]:
    """The thread's pending draft, or an error naming why there is none."""
    enrollment = due_index.get_enrollment(rt.crm, thread_id)
    if enrollment is None:
        raise NotFoundError(f"unknown thread {thread_id!r} (see `coachgraph approvals list`)")
    if enrollment["status"] == "released":
        raise UserError(f"thread {thread_id} was released: its draft was cancelled")
    if enrollment["status"] in ("stopped", "completed", "held", "failed"):
        why = enrollment["stop_reason"] or enrollment["status"]
        raise UserError(f"thread {thread_id} is {enrollment['status']} ({why}): no draft waits")
    if enrollment["campaign_id"] in paused_campaigns(rt.crm):
        raise UserError(
            f"campaign {enrollment['campaign_id']} is paused: "
            f"`coachgraph campaign resume {enrollment['campaign_id']}` first; the draft still waits"
        )
    item = approval_item(rt, thread_id)
    if item is None:
        raise UserError(
            f"thread {thread_id} is not waiting for approval (status: {enrollment['status']})"
        )
    return item


def decide(
    rt: CampaignRuntime,
    thread_id: str,
    response: HumanResponse,
    expected_interrupt: str | None = None,
) -> dict[str, Any]:
    """Resume a waiting thread with a person's decision, at once (a send happens now).

    `expected_interrupt` is the draft the person saw (a page, an Agent Inbox card): when the
    thread waits on another one by now, nothing is applied.
    """
    check_config(rt.context)
    # While the decision runs the thread is active and due, and the decision is on record:
    # if this process dies mid-run (even mid-send, before the checkpoint took the decision),
    # a tick finishes applying it once the lease lapses.
    item, claim = record_decision(
        rt, thread_id, response, expected_interrupt, statuses=("awaiting_approval", "active")
    )
    snapshot = rt.app.get_state(rt.config(thread_id))
    if not snapshot.interrupts or snapshot.interrupts[0].id != item["interrupt_id"]:
        record_outcome(
            rt, thread_id, touch_counts(snapshot.values)
        )  # give back the lease unchanged
        raise UserError(f"the draft on {thread_id} changed meanwhile; review it again")
    before = touch_counts(snapshot.values)
    try:
        finished = run_thread(rt, thread_id, Command(resume=[response]))
    except ConfigError:  # uncharged and still due: the next tick finishes it once fixed
        due_index.record(rt.crm, thread_id, rt.owner)
        raise
    except Exception as exc:
        result = record_failure(rt, claim, exc)
        raise UserError(
            f"decision recorded for {thread_id}, but the run failed ({result['error']}); "
            "the next tick retries it"
        ) from None
    if not finished:
        raise UserError(f"thread {thread_id} was released while the decision ran; nothing more")
    return record_outcome(rt, thread_id, before) | {"thread_id": thread_id}


def record_decision(
    rt: CampaignRuntime,
    thread_id: str,
    response: HumanResponse,
    expected_interrupt: str | None,
    statuses: tuple[str, ...],
) -> tuple[dict[str, Any], due_index.Claim]:
    """Check a decision under the CLI's rules and put it on record, holding the thread.

    The thread becomes active and due now with the decision (its interrupt and touch) kept
    on the enrollment, so whoever runs the thread next applies it, even after a crash.

    Raises:
        UserError: the draft changed since it was shown, the decision is refused, or
            another process holds the thread.
    """
    item = waiting_item(rt, thread_id)
    if expected_interrupt is not None and item["interrupt_id"] != expected_interrupt:
        raise UserError(f"the draft on {thread_id} changed since it was shown; review the new one")
    check_response(item, response)
    recorded = {"interrupt_id": item["interrupt_id"], "touch": item["touch"], "response": response}
    claim = due_index.claim(
        rt.crm,
        thread_id,
        rt.owner,
        rt.lease,
        statuses=statuses,
        status="active",
        next_due_at=iso(now_from(rt.context.now)),
        pending_decision=json.dumps(recorded),
    )
    if claim is None:
        raise UserError(f"thread {thread_id} is being run by another process; try again shortly")
    return item, claim


def check_response(item: dict[str, Any], response: HumanResponse) -> None:
    """Refuse, with the reason, a decision the CLI refuses.

    Accepting a draft or an edit that cannot be sent as it is, or an edit with an empty
    subject or body, raises UserError.
    """
    kind = response["type"]
    if kind == "accept" and (
        problems := unsendable(review_email(item["subject"], item["body"]).notes)
    ):
        raise UserError(
            f"draft on {item['thread_id']} cannot be sent as it is ({'; '.join(problems)}): "
            "edit it, send feedback or reject it; the draft still waits"
        )
    if kind == "edit":
        args = response["args"]["args"] if isinstance(response["args"], dict) else {}
        if not str(args.get("subject", "")).strip():
            raise UserError("edit needs a non-empty --subject")
        if not str(args.get("body", "")).strip():
            raise UserError("edit needs a non-empty --body")
        if problems := unsendable(review_email(args["subject"], args["body"]).notes):
            raise UserError(f"edit not accepted ({'; '.join(problems)}); the draft still waits")
    if kind == "response":
        if not str(response["args"] or "").strip():
            raise UserError("respond needs non-empty --feedback")
        if len(str(response["args"])) > MAX_FEEDBACK_CHARS:
            raise UserError(
                f"--feedback is {len(str(response['args']))} characters; "
                f"at most {MAX_FEEDBACK_CHARS} pass to the composer whole"
            )
        if not item["request"]["config"]["allow_respond"]:
            raise UserError(
                f"thread {item['thread_id']} already had {item['feedback_rounds']} rounds of "
                "feedback on this touch: approve, edit or reject it"
            )
