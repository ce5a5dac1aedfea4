"""await_approval: a person accepts, edits, rejects or comments on every draft."""

from __future__ import annotations

from typing import Any, cast

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from checkpoints.threads import campaign_thread_id
from nodes.campaign.schedule_next import effective_plan
from nodes.email.review_draft import review_email
from schemas.approval import HumanInterrupt, HumanResponse
from schemas.campaign import CampaignState, PendingTouch
from schemas.context import Context, context_of
from schemas.supervision import AuditEvent, Report, ReportStatus, audit_event, make_report
from schemas.values import iso, parse_instant

MAX_FEEDBACK_ROUNDS = 2
RESOLVED = "marked as resolved in Agent Inbox"
"""The `ignore` note of a touch a person marked as resolved: they handled it themselves."""


def resolved_response() -> HumanResponse:
    """The decision "Mark as resolved" stands for: skip this touch, like `ignore`.

    The person took care of this contact outside coachgraph (wrote them, called them, or
    decided against this touch), so nothing is sent and the sequence moves on to its next
    touch. Stopping the whole thread is a different, audited act: `coachgraph release`.
    """
    return HumanResponse(type="ignore", args=RESOLVED)


def approval_request(state: CampaignState) -> HumanInterrupt:
    """The Agent Inbox request for the pending draft."""
    pending = pending_touch(state)
    plan = effective_plan(state)
    notes = "\n".join(f"- {n}" for n in pending["review_notes"]) or "- none"
    prov = state.get("provenance", {})
    sources = ", ".join(f"{k}: {v['source']} ({v['reason']})" for k, v in sorted(prov.items()))
    description = refusal_line(state) + (
        f"### Touch {pending['touch']} of {plan['max_touches']} to {pending['to']}\n\n"
        f"**Angle:** {plan['angle'] or '(default plan)'}  \n**Tone:** {plan['tone'] or '(default)'}"
        f"\n\n**Review:** {'passed' if pending['review_passed'] else 'flagged'}\n{notes}\n\n"
        f"**Provenance:** {sources or 'none'}"
    )
    return HumanInterrupt(
        action_request={
            "action": "send_email",
            "args": {"to": pending["to"], "subject": pending["subject"], "body": pending["body"]},
        },
        config={
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": pending["feedback_rounds"] < MAX_FEEDBACK_ROUNDS,
            "allow_ignore": True,
        },
        description=description,
    )


def is_resolve(response: HumanResponse) -> bool:
    """True for the skip "Mark as resolved" stands for (see `resolved_response`)."""
    return response["type"] == "ignore" and response["args"] == RESOLVED


def refusal_line(state: CampaignState) -> str:
    """Why the person's last accept or edit was refused, first thing they read; else nothing.

    Agent Inbox shows the same request again after a refusal, so the reason leads the
    description: a person who only glances at its top still learns the draft did not go.
    """
    refused = (state.get("decision") or {}).get("rejected_notes")
    if not refused:
        return ""
    kind = "edit" if (state.get("decision") or {}).get("type") == "edit" else "approval"
    reasons = "; ".join(unsendable(refused))
    return f"**Not sent, fix first:** {reasons} (your {kind} was refused; the draft waits)\n\n"


def await_approval(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Wait for a person's decision and record it; a draft is re-reviewed before it may go."""
    response = cast(HumanResponse, interrupt([approval_request(state)])[0])
    update = apply_decision(state, response)
    door = context_of(runtime).door
    at = iso(door.now())
    door.audit([decision_event(state, update["decision"], at)])
    if not update["decision"].get("rejected_notes"):  # a person acted: nothing waits on them
        update["last_report"] = decision_report(state, response["type"], at, is_resolve(response))
    return update


def decision_report(state: CampaignState, kind: str, at: str, resolved: bool = False) -> Report:
    """What the thread reports once a person decided on its draft."""
    touch = pending_touch(state)["touch"]
    words = {"accept": "approved", "edit": "edited and approved", "ignore": "skipped"}
    status: ReportStatus = "success" if kind in ("accept", "edit") else "partial"
    summary = f"touch {touch} {words.get(kind, 'sent back with feedback')} by a person"
    if resolved:
        summary += f" ({RESOLVED})"
    return make_report(status, summary, at, "person", touch=touch, decision=kind)


def apply_decision(state: CampaignState, response: HumanResponse) -> dict[str, Any]:
    """The pending draft and decision as a person's response leaves them."""
    pending = pending_touch(state)
    decision: dict[str, Any] = dict(response)
    if response["type"] == "accept":
        verdict = review_email(pending["subject"], pending["body"])
        if unsendable(verdict.notes):  # a flagged draft is never sent as it is
            decision["rejected_notes"] = verdict.notes
    if response["type"] == "edit":
        args = cast(dict[str, Any], response["args"])["args"]
        verdict = review_email(args["subject"], args["body"])
        if unsendable(verdict.notes):  # the draft stays as it was; the person sees why
            decision["rejected_notes"] = verdict.notes
        else:
            pending = pending | {
                "subject": args["subject"],
                "body": args["body"],
                "edited": True,
                "review_passed": verdict.passed,
                "review_notes": verdict.notes,
            }
    update: dict[str, Any] = {"decision": decision, "pending": pending}
    if response["type"] == "response":
        update["feedback"] = str(response["args"])
        update["pending"] = pending | {"feedback_rounds": pending["feedback_rounds"] + 1}
    return update


def decision_event(state: CampaignState, decision: dict[str, Any], at: str) -> AuditEvent:
    """The audit event for a person's decision on a draft, with how long it waited."""
    pending = pending_touch(state)
    kind = decision["type"]
    refused = decision.get("rejected_notes")
    content = f"touch {pending['touch']}: {kind}" + (" (refused: not sendable)" if refused else "")
    waited = None
    if drafted := pending.get("drafted_at"):
        waited = (parse_instant(at) - parse_instant(drafted)).total_seconds()
    return audit_event(
        "decision",
        "person",
        "coach",
        content,
        at,
        thread_id=campaign_thread_id(state["campaign_id"], state["contact_id"]),
        campaign_id=state["campaign_id"],
        touch=pending["touch"],
        decision=kind,
        latency_s=waited,
        refused=refused,
        feedback=str(decision["args"]) if kind == "response" else None,
        **({"resolved": True} if is_resolve(cast(HumanResponse, decision)) else {}),
        **_edit_texts(pending, decision),
    )


def _edit_texts(pending: PendingTouch, decision: dict[str, Any]) -> dict[str, Any]:
    """An edit's draft before and after, for the reviewer feedback a prompt update learns from."""
    if decision["type"] != "edit":
        return {}
    args = cast(dict[str, Any], decision["args"])["args"]
    return {
        "before": {"subject": pending["subject"], "body": pending["body"]},
        "after": {"subject": args["subject"], "body": args["body"]},
    }


def unsendable(notes: list[str]) -> list[str]:
    """The review notes that forbid sending a draft (a missing opt-out line is added)."""
    return [n for n in notes if n != "missing unsubscribe line"]


def pending_touch(state: CampaignState) -> PendingTouch:
    """The draft waiting on a person (a graph that routes here always has one)."""
    pending = state.get("pending")
    if pending is None:
        raise RuntimeError("await_approval reached with no pending draft")
    return pending
