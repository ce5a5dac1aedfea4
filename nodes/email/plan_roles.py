"""plan_roles: the leader orders roles from a closed enum, repaired and failing open."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from langgraph.runtime import Runtime

from nodes.email.prompts import ROLE_PLAN_SYSTEM, ROLE_PLAN_USER
from schemas.context import Context, context_of
from schemas.llm import RolePlanOutput
from schemas.orchestrator import OrchestratorState, Role
from schemas.provenance import Provenance, provenance

ROLE_ORDER: tuple[Role, ...] = ("researcher", "composer", "reviewer")
DEFAULT_ROLE_PLAN: list[Role] = ["researcher", "composer"]


@dataclass(frozen=True)
class RepairedPlan:
    """A plan that can run, and how it got that way."""

    roles: list[Role]
    source: Literal["llm", "repaired", "default"]
    notes: list[str]


def repair_role_plan(raw: Any) -> RepairedPlan:
    """Keep known roles once each, in researcher→composer→reviewer order; else the default."""
    if not isinstance(raw, list):
        return _fallback(f"roles is not a list ({type(raw).__name__})")
    notes: list[str] = []
    given: list[str] = []
    for item in raw:
        name = item.strip().lower() if isinstance(item, str) else None
        if name in ROLE_ORDER and name != item:
            notes.append(f"normalised role {item!r}")
        if name not in ROLE_ORDER:
            notes.append(f"dropped unknown role {item!r}")
        elif name in given:
            notes.append(f"dropped duplicate role {name!r}")
        else:
            given.append(name)
    roles = [r for r in ROLE_ORDER if r in given]
    if not roles:
        return _fallback("empty plan", notes)
    if "composer" not in roles:
        return _fallback("plan has no composer", notes)
    if given != roles:
        notes.append("restored order researcher→composer→reviewer")
    return RepairedPlan(roles=roles, source="repaired" if notes else "llm", notes=notes)


def _fallback(why: str, notes: list[str] | None = None) -> RepairedPlan:
    return RepairedPlan(
        roles=list(DEFAULT_ROLE_PLAN), source="default", notes=[*(notes or []), why]
    )


def default_role_plan_provenance(reason: str) -> Provenance:
    """Provenance for the static plan (leader off, or a fail-open)."""
    return provenance("default", reason, confidence=1.0, evidence=list(DEFAULT_ROLE_PLAN))


def plan_roles(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the leader for an ordered role plan; repair it or fail open to the default."""
    llm = context_of(runtime).door.model("standard")
    result = llm.complete(
        system=ROLE_PLAN_SYSTEM,
        user=ROLE_PLAN_USER.format(task=json.dumps(_task_summary(state))),
        schema=RolePlanOutput,
        purpose="role_plan",
    )
    calls = [result.call.as_dict()] if result.call else []
    if result.value is None:
        plan = _fallback(result.error or "no answer")
        prov = default_role_plan_provenance(f"fail-open: {result.error}")
    else:
        plan = repair_role_plan(result.value.roles)
        prov = _plan_provenance(plan, result.value.roles)
    return {
        "role_plan": plan.roles,
        "graph_meta": {"role_plan": plan.roles},
        "provenance": {"role_plan": prov},
        "llm_calls": calls,
        "path": ["plan_roles"],
    }


def _plan_provenance(plan: RepairedPlan, raw: Any) -> Provenance:
    evidence = [f"raw={json.dumps(raw)[:200]}", *plan.notes]
    if plan.source == "default":
        return provenance(
            "default", f"fail-open: {plan.notes[-1]}", confidence=1.0, evidence=evidence
        )
    if plan.source == "repaired":
        return provenance("repaired", "leader plan repaired", confidence=0.6, evidence=evidence)
    return provenance("llm", "leader plan accepted as given", confidence=0.8, evidence=evidence)


def _task_summary(state: OrchestratorState) -> dict[str, Any]:
    company: dict[str, Any] = dict(state.get("company") or {})
    return {
        "action": state.get("action"),
        "touch": state.get("touch", 1),
        "facts_available": len(state.get("facts", [])),
        "industry": company.get("industry"),
        "has_history": bool(state.get("history")),
    }
