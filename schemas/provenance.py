"""The four-field provenance envelope every model-shaped decision carries (SPEC §13)."""

from __future__ import annotations

from typing import Literal, TypedDict

ProvenanceSource = Literal["llm", "default", "repaired", "deterministic", "offline_composer"]


class Provenance(TypedDict):
    """Why a decision is what it is, in plain JSON."""

    confidence: float
    """0–1: how much to trust the decision (1.0 for deterministic rules)."""
    reason: str
    """One sentence a person can read in an audit log."""
    source: ProvenanceSource
    """Who decided: the model, a static default, a repair of model output, or code."""
    evidence: list[str]
    """Short strings the decision rests on (raw values, notes, error names)."""


def provenance(
    source: ProvenanceSource, reason: str, *, confidence: float, evidence: list[str] | None = None
) -> Provenance:
    """Build an envelope, clamping confidence into 0–1."""
    return Provenance(
        confidence=round(min(1.0, max(0.0, confidence)), 3),
        reason=reason,
        source=source,
        evidence=list(evidence or []),
    )
