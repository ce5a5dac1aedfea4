"""safety_gate: the authoritative say on whether a contact may get a draft at all."""

from __future__ import annotations

from typing import Any, cast

from langgraph.runtime import Runtime

from schemas.context import Context, context_of
from schemas.crm import OPT_OUT_FLAG
from schemas.door import Standing
from schemas.orchestrator import CONTACT_FLAGS, BlockReason, OrchestratorState
from schemas.provenance import provenance


def block_reason(standing: Standing) -> tuple[BlockReason, str] | None:
    """The first reason a (loaded) contact must not be emailed, with detail, or None."""
    contact = standing.contact
    if contact is None:
        raise ValueError("block_reason needs a loaded contact")
    if why := standing.suppression:
        # An entry an opt-out event wrote blocks with that event's own reason.
        kind = cast(BlockReason, OPT_OUT_FLAG.get(why, "suppressed"))
        return kind, f"address is on the suppression list ({why})"
    for flag in CONTACT_FLAGS:
        if contact[flag]:
            return flag, f"contact is flagged {flag}"
    if why := standing.retention:
        return "retention_hold", f"company is held by the retention team: {why}"
    return None


def stop_reason(standing: Standing) -> str | None:
    """Why a campaign thread must stop for this contact now (gone, or blocked), or None."""
    if standing.contact is None:
        return "contact no longer in the CRM"
    found = block_reason(standing)
    return found[0] if found else None


def safety_gate(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Block suppressed, flagged or retention-held contacts; pass everyone else."""
    found = block_reason(context_of(runtime).door.block_reasons(state["contact"]))
    update: dict[str, Any] = {"path": ["safety_gate"]}
    if found is None:
        return update
    reason, detail = found
    return update | {
        "action": "blocked",
        "blocked_reason": reason,
        "block_detail": detail,
        "provenance": {
            "safety": provenance("deterministic", detail, confidence=1.0, evidence=[reason])
        },
    }
