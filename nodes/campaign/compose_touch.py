"""compose_touch: the campaign's coach delegates one draft to the email orchestrator (AA06)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from checkpoints.threads import campaign_thread_id
from nodes.campaign.check_reply import hold
from nodes.campaign.schedule_next import effective_plan, next_touch
from nodes.delegation import delegation_event, handoff_problem, refusal
from schemas.campaign import CampaignState, PendingTouch
from schemas.context import Context, context_of
from schemas.door import Door
from schemas.orchestrator import OrchestratorInput, OrchestratorOutput, OrchestratorState
from schemas.supervision import ROOT_DEPTH, make_report
from schemas.values import iso, reply_subject

CompiledOrchestrator = CompiledStateGraph[
    OrchestratorState, Context, OrchestratorInput, OrchestratorOutput
]
"""The email orchestrator as the campaign delegates to it."""

SEAT = "coach"
DEPTH = ROOT_DEPTH + 1
"""person → coach is the first hand-off; coach → orchestrator the second."""


def delegate_touch(orchestrator: CompiledOrchestrator) -> Callable[..., dict[str, Any]]:
    """The compose_touch node, bound to a compiled orchestrator (no checkpointer of its own)."""

    def compose_touch(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Hand the next touch to the orchestrator with the plan's angle and tone (and feedback)."""
        context = context_of(runtime)
        job = touch_job(state, context)
        at = iso(context.door.now())
        ids = _ids(state)
        task = f"touch {job['touch']}: draft ({job.get('angle') or 'default angle'})"
        if why := refusal(context, SEAT, "orchestrator", DEPTH) or _oversized(job):
            context.door.audit(
                [delegation_event(SEAT, "orchestrator", task, at, DEPTH, refused=why, **ids)]
            )
            return failed(f"hand-off to orchestrator refused: {why}", at)
        result = cast(OrchestratorOutput, orchestrator.invoke(job, context=context))
        context.door.audit(
            [delegation_event(SEAT, "orchestrator", task, at, DEPTH, **ids), *result["audit"]]
        )
        return outcome(state, result, context)

    return compose_touch


def touch_job(state: CampaignState, context: Context) -> OrchestratorInput:
    """What the orchestrator is asked for: this contact's next touch under the plan."""
    campaign = context.door.campaign(state["campaign_id"]) or {}
    plan = effective_plan(state)
    return OrchestratorInput(
        contact_id=state["contact_id"],
        touch=next_touch(state),
        angle=plan["angle"],
        tone=plan["tone"],
        offer=campaign.get("offer"),
        sender_name=campaign.get("sender_name"),
        feedback=state.get("feedback"),
        campaign_id=state["campaign_id"],
        depth=DEPTH,
    )


def outcome(state: CampaignState, result: OrchestratorOutput, context: Context) -> dict[str, Any]:
    """The orchestrator's report, taken in: a draft for a person, a hold, a stop or a failure."""
    report = result["report"]
    if result["action"] == "blocked":
        if result["blocked_reason"] == "retention_hold":
            return hold(state, context.door, result.get("block_detail") or "retention hold")
        return {"status": "stopped", "stop_reason": result["blocked_reason"], "pending": None} | {
            "last_report": report
        }
    if report is None or report["status"] == "failed" or not result.get("draft"):
        summary = report["summary"] if report else "the orchestrator reported nothing"
        return failed(summary, iso(context.door.now())) | {"last_report": report}
    return _awaiting(state, result, context) | {"last_report": report}


def _awaiting(state: CampaignState, result: OrchestratorOutput, context: Context) -> dict[str, Any]:
    meta, draft = result["graph_meta"], result["draft"] or {"subject": "", "body": ""}
    contact = context.door.contact(state["contact_id"]) or {"email": ""}
    campaign = context.door.campaign(state["campaign_id"]) or {}
    pending = state.get("pending")
    return {
        "status": "awaiting_approval",
        "pending": PendingTouch(
            touch=next_touch(state),
            to=contact["email"],
            subject=threaded_subject(state, campaign, draft["subject"], context.door),
            body=draft["body"],
            review_passed=bool(meta["review_passed"]),
            review_notes=list(meta["review_notes"]),
            facts_used=list(meta.get("facts_used", [])),
            edited=False,
            feedback_rounds=pending["feedback_rounds"] if pending else 0,
            drafted_at=iso(context.door.now()),
        ),
        "provenance": {k: v for k, v in result["provenance"].items() if k != "safety"},
    }


def threaded_subject(
    state: CampaignState, campaign: dict[str, Any], subject: str, door: Door
) -> str:
    """The subject a person approves: a follow-up answers the first touch (SPEC §11).

    The composer gives every touch its own subject; in a threaded campaign (the default) a
    follow-up goes out as `Re:` the first touch's, so that is what the person sees. A campaign
    with `new_thread_per_touch` keeps each touch's own.
    """
    settings = json.loads(campaign.get("settings") or "{}")
    sent = [t for t in state.get("touches", []) if t["outcome"] != "skipped"]
    if settings.get("new_thread_per_touch") or not sent:
        return subject
    first = sent[0].get("subject") or _first_sent_subject(state, door)
    return reply_subject(first) if first else subject


def _first_sent_subject(state: CampaignState, door: Door) -> str | None:
    """For a thread from before touches kept their subject: its first email in the history."""
    enrolled = state.get("enrolled_at") or ""
    return next(
        (
            m["subject"]
            for m in door.history(state["contact_id"])
            if m["direction"] == "out" and m["at"] >= enrolled and m["subject"]
        ),
        None,
    )


def failed(summary: str, at: str) -> dict[str, Any]:
    """The thread fails where a hand-off could not happen; a person sees it in `attention`."""
    report = make_report("failed", summary, at, SEAT)
    return {"status": "failed", "stop_reason": summary, "pending": None, "last_report": report}


def _oversized(job: OrchestratorInput) -> str | None:
    return handoff_problem(job)


def _ids(state: CampaignState) -> dict[str, str | None]:
    thread_id = campaign_thread_id(state["campaign_id"], state["contact_id"])
    return {"thread_id": thread_id, "campaign_id": state["campaign_id"]}
