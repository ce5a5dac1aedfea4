"""What every evaluator shares: the verdict shape, the draft guard and word-level text helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypedDict

# Word-level helpers the composer shares: defined once in the lower layer, re-exported here.
from nodes.email.language import keywords as keywords
from nodes.email.language import sentences as sentences
from nodes.email.language import words as words


class Score(TypedDict):
    """One evaluator's verdict on one example."""

    key: str
    score: float
    comment: str


Evaluator = Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], Score]
DraftCheck = Callable[[dict[str, Any], dict[str, Any], dict[str, Any], str, str], Score]


def score(key: str, ok: bool, why: str, passed: str = "ok") -> Score:
    """A 0/1 verdict whose comment says what failed (or `passed` when nothing did)."""
    return Score(key=key, score=1.0 if ok else 0.0, comment=passed if ok else why)


def why_not(outputs: dict[str, Any]) -> str | None:
    """Why a run produced no draft: the block or skip reason, or the target's error."""
    found = outputs.get("blocked_reason") or outputs.get("skip_reason") or outputs.get("error")
    return str(found) if found else None


def on_draft(check: DraftCheck) -> Evaluator:
    """Run `check` on the run's subject and body; a run without a draft fails it."""

    @functools.wraps(check)
    def evaluate(inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any]) -> Score:
        subject, body = outputs.get("subject"), outputs.get("body")
        if not isinstance(subject, str) or not isinstance(body, str):
            why = f"no draft (action {outputs.get('action')!r}: {why_not(outputs)})"
            return score(check.__name__, False, why)
        return check(inputs, outputs, ref, subject, body)

    return evaluate


def normalised(text: str) -> str:
    """Lower-case words joined by single spaces: punctuation, case and layout ignored."""
    return " ".join(words(text))


_STOPWORDS = frozenset(
    (
        *("a", "an", "the", "and", "or", "for", "of", "to", "in", "on", "at", "by", "with"),
        *("without", "from", "into", "over", "your", "our", "their", "its", "is", "are", "be"),
        *("this", "that", "these", "those", "how", "what", "new", "more", "less"),
    )
)


def content_words(text: str) -> set[str]:
    """The text's words that carry meaning: longer than three letters, not a stopword."""
    return {w for w in words(text) if len(w) > 3 and w not in _STOPWORDS}


def facts_used_in(text: str, facts: list[str], names: Iterable[str] = ()) -> list[str]:
    """The facts whose own content words the text mostly repeats (at least two thirds).

    Words every fact shares, and the `names` (the company's, the contact's), say nothing
    about which fact is quoted, so they are left out: "Acme moved to a four-day week" is not
    quoted by an email that names Acme and says "next week".
    """
    said = set(words(text))
    meanings = [content_words(f) for f in facts]
    shared = set.intersection(*meanings) if len(meanings) > 1 else set()
    named = {w for n in names for w in words(n)}
    used = []
    for fact, meaning in zip(facts, meanings, strict=True):
        own = meaning - shared - named or meaning
        if own and len(own & said) * 3 >= len(own) * 2:
            used.append(fact)
    return used


def sources(inputs: dict[str, Any], outputs: dict[str, Any]) -> str:
    """All text a draft may take a name or number from: the CRM, the plan, the offer."""
    contact, company = inputs.get("contact") or {}, inputs.get("company") or {}
    plan = outputs.get("plan") or inputs.get("plan") or {}
    parts: list[Any] = [
        *contact.values(),
        *company.values(),
        *(f.get("fact") for f in inputs.get("facts", [])),
        *(m.get(k) for m in inputs.get("history", []) for k in ("subject", "body")),
        plan.get("angle"),
        inputs.get("offer"),
        outputs.get("sender_name"),
        outputs.get("sender_company"),
    ]
    return "\n".join(str(p) for p in parts if p)


def reply_expected(ref: dict[str, Any]) -> bool:
    """False when the reference says the right outcome is no email at all (opt-out, autoreply)."""
    return ref.get("action") not in ("skip", "no_reply")


def on_draft_if_expected(check: DraftCheck) -> Evaluator:
    """Like `on_draft`, but an example whose right outcome is no email has nothing to check."""
    drafted = on_draft(check)

    @functools.wraps(check)
    def evaluate(inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any]) -> Score:
        if not reply_expected(ref):
            return score(check.__name__, True, "", "no email expected")
        return drafted(inputs, outputs, ref)

    return evaluate


def if_email_expected(evaluator: Evaluator) -> Evaluator:
    """`evaluator`, except that an example whose right outcome is no email passes it."""

    @functools.wraps(evaluator)
    def evaluate(inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any]) -> Score:
        if not reply_expected(ref):
            return score(evaluator.__name__, True, "", "no email expected")
        return evaluator(inputs, outputs, ref)

    return evaluate
