"""Deterministic evaluators: each scores one property a golden example asks for, 0 or 1.

Every evaluator takes `(inputs, outputs, reference_outputs)` and returns
`{"key", "score", "comment"}`, the shape LangSmith's `evaluate` records as feedback. The
comment says what failed, so a failing example can be read without rerunning it.
"""

from __future__ import annotations

import re
from typing import Any

from evals.reply_checks import language_match, reply_relevance
from evals.scoring import (
    Evaluator,
    Score,
    content_words,
    facts_used_in,
    if_email_expected,
    keywords,
    on_draft,
    sources,
)
from evals.scoring import score as _score
from evals.scoring import why_not as _why_not
from evals.scoring import words as _words
from evals.sequence_checks import each_touch, novelty, touch_purpose
from evals.writing_checks import cta_matches_offer, names_cased, subject_clean
from nodes.email.language import detect_language
from nodes.email.text_rules import find_markers, has_opt_out_line

__all__ = [
    "Evaluator",
    "Score",
    "cta_matches_offer",
    "each_touch",
    "facts_used_in",
    "language_match",
    "names_cased",
    "novelty",
    "on_draft",
    "reply_relevance",
    "subject_clean",
    "touch_purpose",
]

_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_DURATION = re.compile(r"\s*-?\s*(minutes?|mins?|hours?|hrs?)\b", re.IGNORECASE)
# A capital starting a word; the "M" of "€18.5M" or the "B" of "$2.4B" is a unit, not a name.
_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w'’&-]*")
_HAS_DIGIT = re.compile(r"\d")
_POSSESSIVE = re.compile(r"['’]s$")
_SENTENCE_START = re.compile(r"(^|[.!?:;\n\u201c\"(¿¡]\s*|^\s*)$")
ALWAYS_ALLOWED_NAMES = frozenset(
    (
        *("i", "i'm", "i'll", "i've", "i'd", "re", "fwd", "ok", "am", "pm"),
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("january", "february", "march", "april", "may", "june", "july", "august"),
        *("september", "october", "november", "december"),
    )
)
PRESSURE = ("act now", "last chance", "limited time", "final notice", "per my last email", "asap")
TONE_RULES: dict[str, dict[str, Any]] = {
    "formal": {"forbid": ("hey", "yo", "gonna", "wanna", "awesome", "cheers", "!"), "max": None},
    "casual": {"forbid": ("dear", "kind regards", "sincerely", "yours faithfully"), "max": None},
    "direct": {"forbid": ("i hope this email finds you well", "just checking in"), "max": 160},
    "warm": {"forbid": ("to whom it may concern",), "max": None},
    "consultative": {"forbid": (), "max": None, "asks": True},
}
CTA_WORDS = re.compile(
    r"\b(call|chat|talk|meet|meeting|minutes?|time|calendar|demo|walk|open to|worth|"
    r"available|interested|conversation|useful|pilot|audit|work for you)\b",
    re.IGNORECASE,
)


def check_action(inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any]) -> Score:
    """The graph took the expected action (compose or reply) rather than blocking or skipping."""
    got, want = outputs.get("action"), ref.get("action")
    why = _why_not(outputs)
    because = f" ({why})" if why else ""
    return _score("action", got == want, f"action {got!r}{because}, expected {want!r}")


@on_draft
def no_template_markers(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """No `{{x}}`, `{x}` or `[Bracket Words]` left in the subject or body."""
    found = find_markers(subject) + find_markers(body)
    return _score("no_template_markers", not found, f"template markers {found}")


@on_draft
def grounded(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """Every number and name in the email comes from the given data; no forbidden claim."""
    text = f"{subject}\n{body}"
    known = sources(inputs, outputs)
    problems = [f"number {n!r} not in the facts" for n in unsupported_numbers(text, known)]
    if detect_language(body) != "de":  # German capitalises every noun: no name is told apart
        problems += [f"name {n!r} not in the data" for n in unsupported_names(text, known)]
    claims = ref.get("must_not_claim", [])
    problems += [f"claims {c!r}" for c in claims if keywords(c).search(text)]
    return _score("grounded", not problems, "; ".join(problems))


def unsupported_numbers(text: str, sources: str) -> list[str]:
    """Numbers in `text` that no source states (durations like "20-minute" are offers)."""
    known = {_digits(m) for m in _NUMBER.findall(sources)}
    found = []
    for match in _NUMBER.finditer(text):
        if _DURATION.match(text, match.end()):
            continue
        if _digits(match.group(0)) not in known:
            found.append(match.group(0))
    return found


def _digits(number: str) -> str:
    return number.replace(",", "").rstrip(".")


def unsupported_names(text: str, sources: str) -> list[str]:
    """Capitalised words mid-sentence that appear nowhere in the sources: invented names."""
    known = set(_words(sources)) | ALWAYS_ALLOWED_NAMES
    found = []
    for line in text.splitlines():
        for match in _CAPITALISED.finditer(line):
            word = _POSSESSIVE.sub("", match.group(0)).rstrip("'’-&")
            if _SENTENCE_START.search(line[: match.start()]) or _HAS_DIGIT.search(word):
                continue  # "Q3", "H1", "3x": periods and multiples, not names
            if not set(_words(word)) <= known:
                found.append(word)
    return list(dict.fromkeys(found))


@on_draft
def length_band(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """The body's word count is inside the example's band."""
    band = ref.get("length") or {}
    low, high = band.get("min_words", 0), band.get("max_words", 10_000)
    count = len(_words(body))
    return _score("length_band", low <= count <= high, f"{count} words, expected {low}–{high}")


@on_draft
def personalised(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """Addresses the contact by first name, names the company, and uses one allowed fact."""
    want = ref.get("personalisation") or {}
    text = f"{subject}\n{body}"
    problems = []
    first = want.get("first_name")
    if first and not keywords(first).search(body):
        problems.append(f"does not address {first!r}")
    company = want.get("company")
    if company and not keywords(company).search(text):
        problems.append(f"does not name {company!r}")
    if want.get("uses_fact") and not facts_used_in(text, ref.get("facts_allowed", [])):
        problems.append("uses none of the allowed facts")
    return _score("personalised", not problems, "; ".join(problems))


@on_draft
def call_to_action(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """Ends by asking for a next step: a question about a call, a chat, time or a demo."""
    if not ref.get("call_to_action", True):
        return _score("call_to_action", True, "", "not asked for")
    questions = [q for q in re.findall(r"[^.!?\n]*\?", body) if CTA_WORDS.search(q)]
    return _score("call_to_action", bool(questions), "no question asking for a next step")


@on_draft
def unsubscribe_line(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """The body tells the reader how to stop these emails."""
    ok = has_opt_out_line(body) or not ref.get("unsubscribe_line", True)
    return _score("unsubscribe_line", ok, "no unsubscribe or opt-out line")


@on_draft
def tone_honoured(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """Nothing in the email contradicts the plan's tone, and it never pressures."""
    tone = (outputs.get("plan") or {}).get("tone", ref.get("tone"))
    problems = [f"pressure phrase {p!r}" for p in PRESSURE if _says(body, p)]
    rules = TONE_RULES.get(tone or "", {})
    problems += [f"{p!r} is not {tone}" for p in rules.get("forbid", ()) if _says(body, p)]
    limit = rules.get("max")
    if limit and len(_words(body)) > limit:
        problems.append(f"longer than {limit} words for a direct tone")
    if rules.get("asks") and "?" not in body:
        problems.append("a consultative email asks a question")
    return _score("tone_honoured", not problems, "; ".join(problems), f"tone {tone or 'any'}")


def _says(text: str, phrase: str) -> bool:
    """The phrase as whole words ("hey" is not in "they"); punctuation like "!" anywhere."""
    if not any(c.isalnum() for c in phrase):
        return phrase in text
    return bool(keywords(phrase).search(text))


@on_draft
def angle_honoured(
    inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any], subject: str, body: str
) -> Score:
    """When the plan has an angle, the email carries at least half of its content words."""
    angle = (outputs.get("plan") or {}).get("angle", ref.get("angle"))
    if not angle:
        return _score("angle_honoured", True, "", "no angle in the plan")
    words = content_words(angle)
    said = content_words(f"{subject}\n{body}")
    ok = not words or len(words & said) * 2 >= len(words)
    return _score("angle_honoured", ok, f"angle {angle!r} not reflected")


def exact_match(key: str, fields: tuple[str, ...]) -> Evaluator:
    """An evaluator that wants `outputs` to equal the reference on `fields`."""

    def evaluate(inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any]) -> Score:
        diffs = [
            f"{f}: got {outputs.get(f)!r}, expected {ref.get(f)!r}"
            for f in fields
            if outputs.get(f) != ref.get(f)
        ]
        return _score(key, not diffs, "; ".join(diffs))

    evaluate.__name__ = key
    evaluate.__doc__ = f"Outputs equal the reference on {', '.join(fields)}."
    return evaluate


def node_path(inputs: dict[str, Any], outputs: dict[str, Any], ref: dict[str, Any]) -> Score:
    """The node path is the reference's, adjusted for the role plan the run used."""
    expected = expected_path(ref["path"], outputs)
    got = outputs.get("path")
    return _score("node_path", got == expected, f"path {got}, expected {expected}")


def expected_path(baseline: list[str], outputs: dict[str, Any]) -> list[str]:
    """The flags-off path, plus `plan_roles` when the leader ran, minus roles it left out."""
    if not outputs.get("leader") or baseline[-1] in ("safety_gate", "decide_action"):
        return list(baseline)
    roles = outputs.get("role_plan") or []
    path = []
    for node in baseline:
        if node == "research_facts" and "researcher" not in roles:
            continue
        path.append(node)
        if node == "decide_action":
            path.append("plan_roles")
    return path


WRITING: tuple[Evaluator, ...] = (subject_clean, names_cased, cta_matches_offer, language_match)
"""How any draft is written (issue 12): subject, names, the ask, one language."""
FINAL_RESPONSE: tuple[Evaluator, ...] = (
    check_action,
    no_template_markers,
    grounded,
    length_band,
    personalised,
    call_to_action,
    unsubscribe_line,
    tone_honoured,
    angle_honoured,
    *WRITING,
    reply_relevance,
    touch_purpose,
)
SEQUENCE: tuple[Evaluator, ...] = (
    novelty,
    touch_purpose,
    *(each_touch(e) for e in (check_action, no_template_markers, grounded, unsubscribe_line)),
    *(each_touch(e) for e in WRITING),
)
REPLY: tuple[Evaluator, ...] = (
    reply_relevance,
    language_match,
    *(if_email_expected(e) for e in (no_template_markers, grounded, unsubscribe_line)),
    subject_clean,
    names_cased,
    cta_matches_offer,
)
BY_KIND: dict[str, tuple[Evaluator, ...]] = {
    "final_response": FINAL_RESPONSE,
    "sequence": SEQUENCE,
    "reply": REPLY,
    "plan_coercion": (exact_match("plan_exact", ("plan",)),),
    "role_plan_repair": (exact_match("roles_exact", ("roles", "source")),),
    "review_verdicts": (exact_match("verdict_exact", ("passed", "notes")),),
    "paths": (exact_match("outcome_exact", ("action", "blocked_reason")), node_path),
}
