"""review_draft: deterministic checks on a draft, zero model calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodes.email.text_rules import find_markers, has_opt_out_line
from schemas.orchestrator import OrchestratorState
from schemas.provenance import provenance

MAX_SUBJECT = 150


@dataclass(frozen=True)
class ReviewVerdict:
    """Whether a draft may go to a person as is, and what is wrong with it."""

    passed: bool
    notes: list[str]


def review_email(subject: str | None, body: str | None) -> ReviewVerdict:
    """Check a draft: non-empty subject and body, no markers, an unsubscribe line."""
    notes: list[str] = []
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        notes.append("empty subject")
    if not body:
        notes.append("empty body")
    for where, text in (("subject", subject), ("body", body)):
        notes.extend(f"template marker {m!r} in {where}" for m in find_markers(text))
    if body and not has_opt_out_line(body):
        notes.append("missing unsubscribe line")
    if "\n" in subject or "\r" in subject:
        notes.append("subject has a line break")
    if len(subject) > MAX_SUBJECT:
        notes.append(f"subject longer than {MAX_SUBJECT} characters")
    return ReviewVerdict(passed=not notes, notes=notes)


def review_draft(state: OrchestratorState) -> dict[str, Any]:
    """Decide whether the draft passes review; a failure flags it, never blocks it."""
    draft = state.get("draft") or {"subject": "", "body": ""}
    verdict = review_email(draft["subject"], draft["body"])
    reason = "all checks passed" if verdict.passed else "; ".join(verdict.notes)
    return {
        "graph_meta": {"review_passed": verdict.passed, "review_notes": verdict.notes},
        "provenance": {
            "review": provenance(
                "deterministic",
                f"review_draft: {reason}",
                confidence=1.0,
                evidence=verdict.notes or ["subject", "body", "markers", "unsubscribe line"],
            )
        },
        "path": ["review_draft"],
    }
