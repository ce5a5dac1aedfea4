"""research_facts: the researcher picks which facts the composer may use."""

from __future__ import annotations

import re
from typing import Any

from nodes.email.text_rules import why_unquotable
from schemas.crm import FactRecord
from schemas.orchestrator import Brief, OrchestratorState

BRIEF_FACTS = 2
_NOT_WORD = re.compile(r"[\W_]+")


def already_used(fact: str, used: list[str]) -> bool:
    """True when an earlier touch quoted `fact`, even cased or cut differently.

    Memory may hold a fact as a touch wrote it ("Started a trial…" for "Acme started a
    trial…"), so one text inside the other, ignoring case and punctuation, counts.
    """
    mine = _folded(fact)
    return bool(mine) and any(
        (other := _folded(u)) and (other in mine or mine in other) for u in used
    )


def _folded(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


def select_facts(facts: list[FactRecord], used: list[str], limit: int = BRIEF_FACTS) -> Brief:
    """Usable facts no earlier touch used, highest confidence first (SPEC §6: no repeats)."""
    usable: list[str] = []
    skipped: list[str] = []
    for record in sorted(facts, key=lambda r: -r["confidence"]):
        if reason := why_unquotable(record["fact"]):
            skipped.append(f"{reason}: {record['fact'][:80]}")
        else:
            usable.append(record["fact"])
    fresh = [f for f in usable if not already_used(f, used)]
    return Brief(facts=fresh[:limit], skipped=skipped)


def research_facts(state: OrchestratorState) -> dict[str, Any]:
    """Choose the facts to use, skipping unsafe ones and ones an earlier touch sent."""
    used = state.get("memory", {}).get("facts_used", [])
    brief = select_facts(state.get("facts", []), used)
    return {"brief": brief, "path": ["research_facts"]}
