"""The researcher role: pick which facts the composer may use."""

from __future__ import annotations

import re
from typing import Any

from nodes.review import has_marker
from schemas.crm import FactRecord
from schemas.orchestrator import Brief, OrchestratorState

BRIEF_FACTS = 2
# Text that addresses the reader (an AI, a system) rather than stating a fact about a company.
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|override)\b.{0,40}\b(instruction|rule|prompt|previous)s?\b"
    r"|\b(assistant|system prompt)\b\s*:"
    r"|[\w.+-]+@[\w-]+\.[\w.]+",
    re.IGNORECASE,
)


def why_unusable(fact: str) -> str | None:
    """Why a fact must not be quoted in an email, or None when it may be."""
    if has_marker(fact):
        return "holds a template marker"
    if _INSTRUCTION.search(fact):
        return "reads like an instruction or holds an address, not a company fact"
    return None


def select_facts(facts: list[FactRecord], used: list[str], limit: int = BRIEF_FACTS) -> Brief:
    """Usable facts, ones not used in earlier touches first, highest confidence first."""
    usable: list[str] = []
    skipped: list[str] = []
    for record in sorted(facts, key=lambda r: -r["confidence"]):
        if reason := why_unusable(record["fact"]):
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
