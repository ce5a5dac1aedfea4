"""The offline composer: a deterministic, grounded email from hydrated facts.

It runs when no model is configured and whenever a model call fails open, so the main
job works with no key. Each touch does its position's job in its own words
(`touch_copy`); a fact is quoted nearly verbatim as a sentence, or left out
(`fact_prose`), so every claim is traceable; it honours the plan's angle and tone, and
never emits a placeholder.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

from nodes.email.fact_prose import fact_sentence
from nodes.email.research_facts import already_used
from nodes.email.text_rules import why_unquotable
from nodes.email.touch_copy import (
    DEFAULT_TOPIC,
    FACT_LEAD_INS,
    WORDINGS,
    Wording,
    purpose_of,
)
from schemas.coach import TONES

GREETING = {
    "warm": "Hi {first},",
    "direct": "{first},",
    "formal": "Dear {full},",
    "casual": "Hey {first},",
    "consultative": "Hello {first},",
    None: "Hi {first},",
}
CALL_TO_ACTION = {
    "warm": "Would you be open to a short call next week? Happy to work around your calendar.",
    "direct": "Worth {minutes} next week?",
    "formal": "Would you be available for a brief call next week?",
    "casual": "Up for a quick chat next week?",
    "consultative": (
        "If it would help, I can walk you through what has worked for similar teams. "
        "Would {a_call} next week be useful?"
    ),
    None: "Would you be open to {a_call} next week?",
}
"""`{minutes}` and `{a_call}` take the offer's own length ("15 minutes", "a 15-minute call"),
so the ask never contradicts the offer; without one, a short call."""
_MINUTES = re.compile(r"\b(\d{1,3})[\s-]*(?:minutes?|mins?)\b", re.IGNORECASE)
SIGN_OFF = {
    "warm": "Warmly,",
    "direct": "Best,",
    "formal": "Kind regards,",
    "casual": "Cheers,",
    "consultative": "Best regards,",
    None: "Best,",
}
UNSUBSCRIBE_LINE = (
    "If you'd rather not hear from me, reply \"unsubscribe\" and I won't email you again."
)
SHORTER = ("short", "brief", "concise", "fewer words", "too long")
FALLBACK_OFFER = "a short walkthrough of how we could help"
SUBJECT_LIMIT = 78
_PRONOUNS = frozenset(
    ("i", "we", "you", "they", "he", "she", "it", "our", "your", "their", "my", "this", "that")
)
# Quoted CRM text never supplies a brace or bracket, so no two harmless fields can join
# into a marker such as "{title at company}".
_DELIMITERS = str.maketrans({"{": "(", "}": ")", "[": "(", "]": ")"})


@dataclass(frozen=True)
class ComposeRequest:
    """Everything the composer may use; all strings are CRM data, already selected."""

    first_name: str | None
    last_name: str | None
    title: str | None
    company: str | None
    industry: str | None
    facts: list[str]
    offer: str
    touch: int = 1
    angle: str | None = None
    tone: str | None = None
    feedback: str | None = None
    previous_subject: str | None = None
    purpose: str | None = None
    """The touch's job in the sequence (SPEC §6); None for a reply."""
    used_facts: list[str] = field(default_factory=list)
    """Facts earlier touches to this contact already quoted: never again."""
    inbound_subject: str | None = None
    inbound_body: str | None = None
    notes: list[str] = field(default_factory=list)


def clean(value: str | None) -> str | None:
    """A CRM string fit to quote: whitespace folded, delimiters neutralised; None if unusable."""
    if value is None:
        return None
    text = " ".join(value.split())
    if not text or why_unquotable(text):
        return None
    return text.translate(_DELIMITERS)


def tone_for(request: ComposeRequest) -> str | None:
    """The plan's tone, unless a person's feedback names another one."""
    feedback = (request.feedback or "").lower()
    for tone in TONES:
        if tone in feedback:
            return tone
    return request.tone if request.tone in TONES else None


@dataclass(frozen=True)
class OfflineDraft:
    """A draft before its signature and footer, and the facts it quotes."""

    subject: str
    body: str
    facts_used: list[str] = field(default_factory=list)


def compose_email(request: ComposeRequest) -> OfflineDraft:
    """A first touch or follow-up that does its position's job (SPEC §6), in new words.

    It quotes at most one fact, one no earlier touch used, rewritten as a sentence or left
    out (`fact_sentence`); its opening, subject and body are its purpose's own.
    """
    tone = tone_for(request)
    purpose = purpose_of(request.touch)
    fields = _fields(request)
    wording = _pick(WORDINGS[purpose], fields["seed"], purpose)
    short = any(word in (request.feedback or "").lower() for word in SHORTER)
    fact, sentence = _fresh_fact(request, fields["company"])
    lead_in = FACT_LEAD_INS[(request.touch - 1) % len(FACT_LEAD_INS)]
    if purpose == "introduction":
        middle = "" if short else _relevance(request, fields["company"])
        ask = f"We offer {_offer(request)}. {call_to_action(tone, request.offer)}"
    else:
        middle = "" if short else wording.middle.format(**fields)
        ask = wording.ask.format(**fields)
    noticed = lead_in.format(fact=sentence) if sentence else ""
    # The question touch explains its question before anything else; the others lead with
    # the fact that makes the note about this company.
    body = [noticed, middle] if purpose != "question" else [middle, noticed]
    opening = wording.opening.format(**fields)
    paragraphs = [_greeting(request, tone), opening, *(p for p in body if p), ask]
    subject = wording.subject if fields["angle"] else wording.subject.replace("{angle}", "")
    if subject.endswith(": "):
        subject = "Quick idea for {company_or_team}"
    subject = _capitalised(clip_words(subject.format(**fields), SUBJECT_LIMIT))
    return OfflineDraft(subject, "\n\n".join(paragraphs), [fact] if fact and sentence else [])


def _fields(request: ComposeRequest) -> dict[str, str]:
    """The values the wordings' placeholders take, each with a fallback."""
    company = clean(request.company) or ""
    angle = clean(request.angle) or ""
    area = _area(clean(request.industry))
    topic = _topic(angle, company) or DEFAULT_TOPIC
    first = person_case(clean(request.first_name)) or ""
    return {
        "company": company,
        "angle": _as_clause(angle),
        "topic": topic,
        "area": area,
        "company_or_team": company or "your team",
        "company_or_yours": company or "yours",
        "at_company": f"at {company}" if company else "for your team",
        "first_or_you": first or "you",
        "a_call": call_length(request.offer),
        "seed": f"{company}|{first}|{clean(request.last_name) or ''}",
    }


def _pick(wordings: tuple[Wording, ...], seed: str, purpose: str) -> Wording:
    """One wording per contact and purpose, stable across runs, varied across contacts."""
    return wordings[zlib.crc32(f"{seed}|{purpose}".encode()) % len(wordings)]


def _fresh_fact(request: ComposeRequest, company: str) -> tuple[str | None, str | None]:
    """The first brief fact no earlier touch used that reads as a sentence, and that sentence."""
    for fact in request.facts:
        if already_used(fact, request.used_facts):
            continue
        if sentence := fact_sentence(fact, company or None):
            return fact, sentence
    return None, None


def _topic(angle: str, company: str) -> str | None:
    """The angle as a phrase to write about ("cutting manual follow-up work …")."""
    text = _as_clause(angle)
    if not text or text.split()[0].lower() in _PRONOUNS:
        return None  # a sentence ("We help teams …"), not a topic
    if company and text.split()[0] in company.split():
        return text  # it starts with the company's name
    return _lower_first(text)


def _area(industry: str | None) -> str:
    """The reader's kind of team ("logistics teams"), or "teams like yours"."""
    if not industry:
        return "teams like yours"
    name = industry if any(c.isupper() for c in industry[1:]) else industry.lower()
    return f"{name} teams"


def call_to_action(tone: str | None, offer: str | None) -> str:
    """The tone's ask, sized to the offer: a 15-minute offer never asks for 20 minutes."""
    minutes = offer_minutes(offer)
    length = f"{minutes} minutes" if minutes else "a short call"
    return CALL_TO_ACTION[tone].format(minutes=length, a_call=call_length(offer))


def offer_minutes(offer: str | None) -> str | None:
    """The meeting length the offer names ("20" for "a 20-minute walkthrough"), if any."""
    found = _MINUTES.search(offer or "")
    return found.group(1) if found else None


def call_length(offer: str | None) -> str:
    """`a 15-minute call` for a 15-minute offer; `a short call` when it names no length."""
    minutes = offer_minutes(offer)
    return f"a {minutes}-minute call" if minutes else "a short call"


def _offer(request: ComposeRequest) -> str:
    return _as_clause(clean(request.offer) or "") or FALLBACK_OFFER


def _greeting(request: ComposeRequest, tone: str | None) -> str:
    first, last = person_case(clean(request.first_name)), person_case(clean(request.last_name))
    if not first:
        return "Hello,"
    full = f"{first} {last}" if last else first
    return GREETING[tone].format(first=first, full=full)


def _relevance(request: ComposeRequest, company: str | None) -> str:
    """Why the introduction is for this reader: their role, their kind of team."""
    title = clean(request.title)
    role = f"As {title}{_at(company)}" if title else "In your role"
    area = _area(clean(request.industry))
    return f"{role}, you are probably weighing how {area} can grow without adding manual work."


def person_case(name: str | None) -> str | None:
    """A name as people write it: `MARGARET` or `margaret` → `Margaret`; `McKay` stays."""
    if not name or not (name.isupper() or name.islower()):
        return name
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), name)


def _as_clause(text: str) -> str:
    return text.strip().rstrip(".!")


def _lower_first(text: str) -> str:
    """A phrase to write mid-sentence: "Cutting costs" → "cutting costs"; "EMEA" stays."""
    head = text.split()[0] if text.split() else ""
    if len(head) > 1 and head[0].isupper() and head[1:].islower() and head.isalpha():
        return text[0].lower() + text[1:]
    return text


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _for(company: str | None) -> str:
    return f" for {company}" if company else ""


def _at(company: str | None) -> str:
    return f" at {company}" if company else ""


def clip_words(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"
