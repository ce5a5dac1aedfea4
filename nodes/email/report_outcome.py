"""report_outcome: the orchestrator tells the seat that delegated it what came of the run."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from nodes.delegation import fail_open_events
from nodes.email.delegate_role import SEAT, audit_ids
from schemas.context import Context, context_of
from schemas.orchestrator import OrchestratorState
from schemas.supervision import Report, ReportStatus, make_report, report_event
from schemas.values import iso


def report_outcome(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Report success, partial (no draft needed), failed or needs_attention upward, audited."""
    at = iso(context_of(runtime).door.now())
    report = state.get("report") or outcome_report(state, at)
    ids = audit_ids(state)
    parent = "coach" if ids["campaign_id"] else "person"
    prov = state.get("provenance", {})
    events = [*fail_open_events(prov, SEAT, at, **ids), report_event(report, parent, **ids)]
    return {"report": report, "audit": events}


def outcome_report(state: OrchestratorState, at: str) -> Report:
    """The report a finished run makes from what it did."""
    status, summary = _verdict(state)
    calls = state.get("llm_calls", [])
    prompt = sum(c.get("prompt_tokens", 0) for c in calls)
    completion = sum(c.get("completion_tokens", 0) for c in calls)
    return make_report(
        status,
        summary,
        at,
        SEAT,
        touch=state.get("touch"),
        action=state.get("action"),
        prompt_tokens=prompt,
        completion_tokens=completion,
        model_calls=len(calls),
        provenance={k: dict(v) for k, v in state.get("provenance", {}).items()},
    )


def _verdict(state: OrchestratorState) -> tuple[ReportStatus, str]:
    touch = state.get("touch", 1)
    if state.get("blocked_reason"):
        return "partial", f"no draft: {state.get('block_detail') or state['blocked_reason']}"
    if state.get("action") == "skip":
        return "partial", f"no draft: {state.get('skip_reason') or 'nothing to send now'}"
    meta = state.get("graph_meta", {})
    if not state.get("draft"):
        return "failed", f"touch {touch}: no draft came back"
    if meta.get("needs_attention"):
        return (
            "needs_attention",
            f"touch {touch} drafted for a person to finish: {meta['needs_attention']}",
        )
    if meta.get("review_passed"):
        return "success", f"touch {touch} drafted; review passed"
    notes = "; ".join(meta.get("review_notes", []))
    return "needs_attention", f"touch {touch} drafted but flagged for a person: {notes}"
