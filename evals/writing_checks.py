"""How a draft is written, whatever it says: its subject, the casing of names, a consistent ask.

Each check is 0/1 with a comment naming what failed. They run on one draft; `each_touch`
(in `sequence_checks`) runs them on every touch of a sequence.
"""

from __future__ import annotations

import re
from typing import Any

from evals.scoring import Score, keywords, on_draft_if_expected, score, sources, words

# Reply and forward prefixes in the common mail clients' languages (Re, AW, SV, WG, TR, RV…).
_PREFIX = r"(?:re|aw|sv|vs|wg|fw|fwd|tr|rv|r|antw|odp|ref)\s*(?:\[\d+\])?\s*:"
_STACKED_PREFIX = re.compile(rf"^\s*{_PREFIX}\s*{_PREFIX}", re.IGNORECASE)
_ELLIPSIS = ("…", "...")
_DURATION = re.compile(
    r"(?<![\w.])(\d{1,3})\s*-?\s*(minutes?|mins?|min|minuten|minutos|minuti|hours?|hrs?|"
    r"stunden?|heures?|horas?|ore|uur)(?![\w])",
    re.IGNORECASE,
)
_WORDED_DURATION = {
    "quarter of an hour": 15,
    "quarter-hour": 15,
    "half an hour": 30,
    "half-hour": 30,
    "half hour": 30,
    "an hour": 60,
    "one hour": 60,
}
_HOUR_UNITS = ("hour", "hr", "stunde", "heure", "hora", "ore", "uur")


@on_draft_if_expected
def subject_clean(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """The subject has at most one reply prefix ("Re: Re:" fails) and ends on a whole word."""
    problems = []
    if _STACKED_PREFIX.search(subject):
        problems.append(f"stacked reply prefix in {subject!r}")
    if cut := cut_word(subject, f"{sources(inputs, outputs)}\n{body}"):
        problems.append(f"subject {subject!r} is cut mid-word at {cut!r}")
    if not subject.strip():
        problems.append("empty subject")
    return score("subject_clean", not problems, "; ".join(problems))


def cut_word(subject: str, context: str) -> str | None:
    """The subject's last word when it is clipped, else None.

    Clipped: a dangling hyphen, or a strict prefix of a word the data or the body uses while
    never being a word there itself ("…for gro" when the angle says "growing").
    """
    text = subject.rstrip()
    for mark in _ELLIPSIS:
        text = text.removesuffix(mark)
    if text.endswith("-"):
        return text.rsplit(None, 1)[-1]
    if not text or not text[-1].isalnum():
        return None
    last = words(text)[-1] if words(text) else ""
    known = set(words(context)) | set(words(text)[:-1])
    if len(last) < 2 or last in known or last.isdigit():
        return None
    longer = any(w.startswith(last) and len(w) > len(last) for w in known)
    return last if longer else None


@on_draft_if_expected
def names_cased(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """The contact's names are written as people write them: "Hi MARGARET," or "hi ana" fail.

    A CRM name in mixed case ("McKenzie", "DeShawn") must be copied exactly; one stored all
    upper or all lower case must come out neither.
    """
    contact = inputs.get("contact") or {}
    text = f"{subject}\n{body}"
    problems = []
    for field in ("first_name", "last_name"):
        for part in str(contact.get(field) or "").split():
            problems += [f"{seen!r} ({field})" for seen in _miscased(part, text)]
    why = "names not cased as people write them: " + ", ".join(dict.fromkeys(problems))
    return score("names_cased", not problems, why)


def _miscased(name: str, text: str) -> list[str]:
    """Occurrences of `name` in `text` written in a casing its owner would not use."""
    if len(name) < 2 or not any(c.isalpha() for c in name):
        return []
    stored_mixed = not (name.isupper() or name.islower())
    found = []
    for match in keywords(name).finditer(text):
        seen = match.group(0)
        wrong = seen != name if stored_mixed else (seen.isupper() or seen.islower())
        if wrong:
            found.append(seen)
    return found


@on_draft_if_expected
def cta_matches_offer(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """Every length of meeting the email asks for is the one the offer names (15 ≠ 20 minutes)."""
    offered = durations(str(inputs.get("offer") or ""))
    if not offered:
        return score("cta_matches_offer", True, "", "the offer names no duration")
    asked = durations(body) - offered
    why = f"the offer says {_minutes(offered)} but the email asks for {_minutes(asked)}"
    return score("cta_matches_offer", not asked, why)


def durations(text: str) -> set[int]:
    """Meeting lengths the text names, in minutes ("20-minute", "half an hour", "1 Stunde")."""
    found = set()
    for match in _DURATION.finditer(text):
        unit = match.group(2).lower()
        factor = 60 if unit.startswith(_HOUR_UNITS) else 1
        found.add(int(match.group(1)) * factor)
    for phrase, minutes in _WORDED_DURATION.items():  # longest first: "half an hour" ≠ an hour
        pattern = keywords(phrase)
        if pattern.search(text):
            found.add(minutes)
            text = pattern.sub(" ", text)
    return found


def _minutes(values: set[int]) -> str:
    return " or ".join(f"{v} minutes" for v in sorted(values))
