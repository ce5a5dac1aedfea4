"""The offline composer: a deterministic, grounded email from hydrated facts.

It runs when no model is configured and whenever a model call fails open, so
the main job works with no key. It quotes facts verbatim (so every claim is
traceable), honours the plan's angle and tone, and never emits a placeholder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nodes.email.review_draft import MAX_SUBJECT
from nodes.email.text_rules import why_unquotable
from schemas.coach import TONES
from schemas.values import reply_subject

GREETING = {
    "warm": "Hi {first},",
    "direct": "{first},",
    "formal": "Dear {full},",
    "casual": "Hey {first},",
    "consultative": "Hello {first},",
    None: "Hi {first},",
}
LEAD_IN = {
    "warm": "I enjoyed reading that {fact}.",
    "direct": "I saw that {fact}.",
    "formal": "I recently read that {fact}.",
    "casual": "Noticed that {fact}.",
    "consultative": "While preparing this note, I read that {fact}.",
    None: "I read that {fact}.",
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


def compose_email(request: ComposeRequest) -> tuple[str, str]:
    """Subject and body (before signature and footer) for a first touch or follow-up."""
    tone = tone_for(request)
    company = clean(request.company)
    facts = [f for f in (clean(x) for x in request.facts) if f]
    short = any(word in (request.feedback or "").lower() for word in SHORTER)
    paragraphs = [_greeting(request, tone)]
    if request.touch > 1:
        paragraphs.append(_follow_up_opening(company))
    if facts:
        paragraphs.append(LEAD_IN[tone].format(fact=_as_clause(facts[0]), company=company))
    if not short:
        paragraphs.append(_relevance(request, company))
        if len(facts) > 1:
            paragraphs.append(f"I also saw that {_as_clause(facts[1])}.")
    paragraphs.append(f"We offer {_offer(request)}. {call_to_action(tone, request.offer)}")
    return _clip(_subject(request, company), MAX_SUBJECT), "\n\n".join(paragraphs)


def call_to_action(tone: str | None, offer: str | None) -> str:
    """The tone's ask, sized to the offer: a 15-minute offer never asks for 20 minutes."""
    found = _MINUTES.search(offer or "")
    minutes = f"{found.group(1)} minutes" if found else "a short call"
    return CALL_TO_ACTION[tone].format(minutes=minutes, a_call=_a_call(offer))


def _a_call(offer: str | None) -> str:
    """`a 15-minute call` for a 15-minute offer; `a short call` when it names no length."""
    found = _MINUTES.search(offer or "")
    return f"a {found.group(1)}-minute call" if found else "a short call"


def compose_reply(request: ComposeRequest) -> tuple[str, str]:
    """Subject and body (before signature and footer) answering an inbound message."""
    tone = tone_for(request)
    company = clean(request.company)
    inbound_subject = clean(request.inbound_subject)
    facts = [f for f in (clean(x) for x in request.facts) if f]
    topic = f" about \u201c{inbound_subject}\u201d" if inbound_subject else ""
    paragraphs = [_greeting(request, tone), f"Thank you for your note{topic}."]
    if facts:
        paragraphs.append(
            f"It sounds timely: I understand that {_as_clause(facts[0])}, and that is "
            "exactly the kind of situation we help with."
        )
    paragraphs.append(
        f"We offer {_offer(request)}. Would Tuesday or Thursday next week "
        f"work for {_a_call(request.offer)}? I'll bring answers to your questions."
    )
    subject = (
        reply_subject(inbound_subject) if inbound_subject else f"Your note to us{_for(company)}"
    )
    return _clip(subject, MAX_SUBJECT), "\n\n".join(paragraphs)


def finish_body(body: str, *, tone: str | None, sender_name: str, sender_company: str) -> str:
    """Append the sign-off, signature and unsubscribe line every draft carries."""
    signature = "\n".join([SIGN_OFF.get(tone, "Best,"), sender_name, sender_company])
    return f"{body.rstrip()}\n\n{signature}\n\n{UNSUBSCRIBE_LINE}"


def _offer(request: ComposeRequest) -> str:
    return _as_clause(clean(request.offer) or "") or FALLBACK_OFFER


def _greeting(request: ComposeRequest, tone: str | None) -> str:
    first, last = person_case(clean(request.first_name)), person_case(clean(request.last_name))
    if not first:
        return "Hello,"
    full = f"{first} {last}" if last else first
    return GREETING[tone].format(first=first, full=full)


def _follow_up_opening(company: str | None) -> str:
    return f"Following up on my earlier note{_for(company)}."


def _relevance(request: ComposeRequest, company: str | None) -> str:
    angle = clean(request.angle)
    if angle:
        return f"The reason I'm writing: {_lower_first(_as_clause(angle))}."
    title = clean(request.title)
    role = f"As {title}{_at(company)}" if title else "In your role"
    focus = clean(request.industry)
    area = f"{focus.lower()} teams" if focus else "teams like yours"
    return f"{role}, you are probably weighing how {area} can grow without adding manual work."


def _subject(request: ComposeRequest, company: str | None) -> str:
    if request.touch > 1:
        previous = clean(request.previous_subject)
        if previous:
            return reply_subject(previous)
        return f"Following up{_for(company)}"
    angle = clean(request.angle)
    if angle and company:
        return _clip(f"{company}: {angle.rstrip('.')}", 78)
    return f"Quick idea for {company}" if company else "A quick idea for your team"


def person_case(name: str | None) -> str | None:
    """A name as people write it: `MARGARET` or `margaret` → `Margaret`; `McKay` stays."""
    if not name or not (name.isupper() or name.islower()):
        return name
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0).capitalize(), name)


def _as_clause(text: str) -> str:
    return text.strip().rstrip(".!")


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _for(company: str | None) -> str:
    return f" for {company}" if company else ""


def _at(company: str | None) -> str:
    return f" at {company}" if company else ""


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"
