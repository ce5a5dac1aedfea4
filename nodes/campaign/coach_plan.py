"""coach_plan: at step 0, one model call plans the whole sequence (SPEC §7)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.runtime import Runtime

from checkpoints.threads import campaign_thread_id
from nodes.campaign.coach_rules import coerce_coach_plan, default_plan_values, why_rejected
from nodes.campaign.prompts import COACH_PLAN_SYSTEM, COACH_PLAN_USER
from nodes.delegation import fail_open_events
from schemas.campaign import CampaignState, PlanRecord
from schemas.coach import CoachPlanOutput
from schemas.context import Context, context_of
from schemas.crm import MAX_FACTS
from schemas.provenance import Provenance, provenance
from schemas.supervision import AuditEvent, make_report, report_event
from schemas.values import iso


def coach_plan(state: CampaignState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Plan angle, tone, cadence, max touches and stop criteria once; never re-plan."""
    if state.get("plan") is not None or state.get("touches"):
        return {}
    context = context_of(runtime)
    planned = plan_sequence(_brief(state, context), context)
    context.door.audit(plan_events(state, planned, iso(context.door.now())))
    return {"plan": planned.record, "provenance": {"coach_plan": planned.provenance}}


@dataclass(frozen=True)
class Planned:
    """The plan a coach call produced (or the default), why, and what the call cost."""

    record: PlanRecord
    provenance: Provenance
    calls: list[dict[str, Any]]


def plan_sequence(brief: dict[str, Any], context: Context) -> Planned:
    """One coach call for a whole sequence: its plan within bounds, or the default plan."""
    result = context.door.model("standard").complete(
        system=COACH_PLAN_SYSTEM,
        user=COACH_PLAN_USER.format(data=json.dumps(brief, ensure_ascii=False)),
        schema=CoachPlanOutput,
        purpose="coach_plan",
    )
    calls = [result.call.as_dict()] if result.call else []
    raw = result.value.model_dump() if result.value is not None else None
    plan = coerce_coach_plan(raw) if raw is not None else None
    if plan is not None:
        prov = provenance(
            "llm",
            "coach plan accepted within bounds",
            confidence=0.8,
            evidence=[f"raw={json.dumps(raw)[:300]}"],
        )
        return Planned(PlanRecord(source="coach", **plan), prov, calls)
    why = result.error or why_rejected(raw) or "no usable plan"
    prov = provenance(
        "default",
        f"fail-open to the default plan: {why}",
        confidence=1.0,
        evidence=[f"raw={json.dumps(raw)[:300]}"] if raw is not None else [],
    )
    return Planned(PlanRecord(source="default", **default_plan_values()), prov, calls)


def plan_events(state: CampaignState, planned: Planned, at: str) -> list[AuditEvent]:
    """The plan reported to the campaign's owner, with its provenance and cost, audited."""
    ids = {
        "thread_id": campaign_thread_id(state["campaign_id"], state["contact_id"]),
        "campaign_id": state["campaign_id"],
    }
    plan = planned.record
    summary = (
        f"plan ({plan['source']}): {plan['max_touches']} touches, gaps {plan['cadence_days']}, "
        f"tone {plan['tone'] or 'default'}, angle {plan['angle'] or 'default'}"
    )
    report = make_report(
        "success" if plan["source"] == "coach" else "partial",
        summary,
        at,
        "coach",
        provenance=dict(planned.provenance),
        prompt_tokens=sum(c.get("prompt_tokens", 0) for c in planned.calls),
        completion_tokens=sum(c.get("completion_tokens", 0) for c in planned.calls),
        model_calls=len(planned.calls),
    )
    failed_open = fail_open_events({"coach_plan": planned.provenance}, "coach", at, **ids)
    return [*failed_open, report_event(report, "person", **ids)]


def _brief(state: CampaignState, context: Context) -> dict[str, Any]:
    door = context.door
    contact: dict[str, Any] = dict(door.contact(state["contact_id"]) or {})
    company: dict[str, Any] = dict(door.company(contact.get("company_domain")) or {})
    campaign = door.campaign(state["campaign_id"]) or {}
    facts = door.top_facts(contact.get("company_domain"), MAX_FACTS)
    return coach_brief(campaign.get("offer"), contact, company, facts)


def coach_brief(
    offer: str | None, contact: Mapping[str, Any], company: Mapping[str, Any], facts: list[Any]
) -> dict[str, Any]:
    """What the coach is told: the offer, the contact's title, the company, its best facts."""
    ranked = sorted(facts, key=lambda f: -float(f.get("confidence", 0)))[:MAX_FACTS]
    return {
        "offer": offer,
        "contact_title": contact.get("title"),
        "company": company.get("name"),
        "industry": company.get("industry"),
        "facts": [f["fact"] for f in ranked],
    }
