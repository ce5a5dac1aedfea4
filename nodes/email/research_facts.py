"""research_facts: the researcher picks which facts the composer may use."""

from __future__ import annotations

from typing import Any

from nodes.email.text_rules import why_unquotable
from schemas.crm import FactRecord
from schemas.orchestrator import Brief, OrchestratorState

BRIEF_FACTS = 2


def select_facts(facts: list[FactRecord], used: list[str], limit: int = BRIEF_FACTS) -> Brief:
    """Usable facts, ones not used in earlier touches first, highest confidence first."""
    usable: list[str] = []
    skipped: list[str] = []
    for record in sorted(facts, key=lambda r: -r["confidence"]):
        if reason := why_unquotable(record["fact"]):
            skipped.append(f"{reason}: {record['fact'][:80]}")
        else:
            usable.append(record["fact"])
    fresh = [f for f in usable if f not in used]
    stale = [f for f in usable if f in used]
    return Brief(facts=(fresh + stale)[:limit], skipped=skipped)


def research_facts(state: OrchestratorState) -> dict[str, Any]:
    """Choose the facts to use, skipping unsafe ones and preferring ones not yet sent."""
    used = state.get("memory", {}).get("facts_used", [])
    brief = select_facts(state.get("facts", []), used)
    return {"brief": brief, "path": ["research_facts"]}
