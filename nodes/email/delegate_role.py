"""The orchestrator hands each role to its seat: checked against the seat chart, then audited."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime

from checkpoints.threads import campaign_thread_id
from nodes.delegation import HandoffRefused, delegation_event, refusal
from schemas.context import Context, context_of
from schemas.orchestrator import OrchestratorState, Role
from schemas.supervision import ROOT_DEPTH, ReportStatus, make_report, report_event
from schemas.values import iso

Node = Callable[..., dict[str, Any]]
Reporter = Callable[[dict[str, Any]], tuple[ReportStatus, str]]
SEAT = "orchestrator"


def delegated(seat: Role, node: Node, reporter: Reporter) -> Node:
    """`node` run as a hand-off from the orchestrator to `seat`, refused where the chart says."""
    wants_runtime = len(inspect.signature(node).parameters) > 1

    def hand_off(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_of(runtime)
        at, depth = iso(context.door.now()), state.get("depth", ROOT_DEPTH) + 1
        ids = audit_ids(state)
        task = f"touch {state.get('touch', 1)}: {state.get('action', 'compose')} as {seat}"
        if why := refusal(context, SEAT, seat, depth):
            return refused(state, seat, task, why, at, depth)
        try:
            update = node(state, runtime) if wants_runtime else node(state)
        except HandoffRefused as exc:
            return refused(state, seat, task, str(exc), at, depth)
        status, summary = reporter(update)
        events = [
            delegation_event(SEAT, seat, task, at, depth, **ids),
            report_event(make_report(status, summary, at, seat), SEAT, **ids),
        ]
        return update | {"audit": events}

    hand_off.__name__ = getattr(node, "__name__", seat)
    hand_off.__doc__ = node.__doc__
    return hand_off


def refused(
    state: OrchestratorState, seat: str, task: str, why: str, at: str, depth: int
) -> dict[str, Any]:
    """A hand-off that did not happen: the run ends with a `failed` report, audited."""
    ids = audit_ids(state)
    summary = f"hand-off to {seat} refused: {why}"
    return {
        "draft": None,
        "report": make_report("failed", summary, at, SEAT, refused=seat),
        "audit": [delegation_event(SEAT, seat, task, at, depth, refused=why, **ids)],
        "path": [f"refused:{seat}"],
    }


def audit_ids(state: OrchestratorState) -> dict[str, str | None]:
    """The thread and campaign a run's audit events belong to (none for a one-off draft)."""
    campaign_id = state.get("campaign_id")
    if not campaign_id:
        return {"thread_id": None, "campaign_id": None}
    return {
        "thread_id": campaign_thread_id(campaign_id, state["contact_id"]),
        "campaign_id": campaign_id,
    }


def researcher_report(update: dict[str, Any]) -> tuple[ReportStatus, str]:
    """The researcher's report: how many facts it picked and skipped."""
    brief = update.get("brief") or {"facts": [], "skipped": []}
    return "success", f"{len(brief['facts'])} facts picked, {len(brief['skipped'])} skipped"


def composer_report(update: dict[str, Any]) -> tuple[ReportStatus, str]:
    """The composer's report: a draft, written by the model or (partial) by a fail-open."""
    draft = update.get("draft") or {}
    reason = update.get("provenance", {}).get("draft", {}).get("reason", "")
    if not draft.get("body"):
        return "failed", "no draft written"
    if attention := update.get("graph_meta", {}).get("needs_attention"):
        return "needs_attention", f"draft written for a person to finish: {attention}"
    return ("partial" if "fail-open" in reason else "success"), reason or "draft written"


def reviewer_report(update: dict[str, Any]) -> tuple[ReportStatus, str]:
    """The reviewer's report: passed, or flagged for a person with its notes."""
    meta = update.get("graph_meta", {})
    if meta.get("review_passed"):
        return "success", "all checks passed"
    return "needs_attention", "flagged: " + "; ".join(meta.get("review_notes", []))
