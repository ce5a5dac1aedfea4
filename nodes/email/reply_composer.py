"""The offline composer's reply to an inbound message (SPEC §6, §11a).

It answers what the inbound asked, in the inbound's language (`reply_copy`), and hands a
person (`needs_attention`) what it cannot answer itself: a price, a product question, a
message with no clear question, one in a language it does not write. An opt-out or an
out-of-office gets no reply at all. The inbound is data: a sentence of it that reads like
an instruction is never read, and whatever it quotes (a product, a person, a month) passes
`clean()`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nodes.email.fact_prose import fact_sentence
from nodes.email.intents import (
    INBOUND_SIGNS,
    NO_REPLY,
    Intent,
    asked_names,
    inbound_text,
    intent_of_text,
    new_text,
    referred_person,
    timing_term,
)
from nodes.email.language import detect_language, sentences, unknown_language
from nodes.email.offline_composer import (
    FALLBACK_OFFER,
    GREETING,
    ComposeRequest,
    call_length,
    clean,
    clip_words,
    offer_minutes,
    person_case,
    tone_for,
)
from nodes.email.reply_copy import OPT_OUT_LINES as OPT_OUT_LINES
from nodes.email.reply_copy import SIGN_OFF_LINES as SIGN_OFF_LINES
from nodes.email.reply_copy import WORDINGS, ReplyWording
from nodes.email.research_facts import already_used
from nodes.email.review_draft import MAX_SUBJECT
from schemas.values import reply_subject, without_reply_prefix

MAX_NAMES = 3
"""A question about more things than this is named by its first three."""
OPEN_QUESTIONS: tuple[Intent | None, ...] = ("pricing", "question")
"""Inbounds a reply answers and then offers a next step for; the others are closed."""
ATTENTION: dict[Intent | None, str] = {
    "pricing": "a pricing question: a person adds the figures",
    "question": "a product question the composer cannot answer",
    None: "no clear question: a person decides the answer",
}
"""Why a person looks at a reply before it goes; intents not listed need no one."""


@dataclass(frozen=True)
class ReplyDraft:
    """A reply before its footer (`SIGN_OFF_LINES`, the signature, `OPT_OUT_LINES`)."""

    subject: str
    body: str
    language: str
    """The body's language (ISO 639-1): its footer is written in the same one."""
    intent: str
    """What the inbound asked for (one of `INTENTS`), or "unclear"."""
    needs_attention: str | None
    """Why a person must look before it goes, or None when it can go as written."""
    facts_used: tuple[str, ...] = ()
    """The CRM facts it quotes: no later touch to this contact quotes them again."""


def compose_reply(request: ComposeRequest) -> ReplyDraft | None:
    """The reply the inbound asks for, in its language; None for an opt-out or autoreply."""
    said = inbound_text(request.inbound_subject, request.inbound_body)
    intent = intent_of_text(said)
    if intent in NO_REPLY:
        return None
    body = new_text(request.inbound_body)
    if other := unknown_language(body):
        why = f"written in {other}: a person answers"
        return _draft(request, "en", WORDINGS["en"].unclear, intent, why)
    language = detect_language(body, min_hits=3) or "en"
    answer = _answer(intent, said, request, language)
    attention = ATTENTION.get(intent)
    also_asks = intent == "timing" and _asks_beyond_timing(said)
    if also_asks:
        attention = "says not now but also asks a question: a person answers it"
    used: tuple[str, ...] = ()
    if language == "en" and (intent in OPEN_QUESTIONS or also_asks):
        answer, used = _with_next_step(answer, intent, request)
    return replace(_draft(request, language, answer, intent, attention), facts_used=used)


def _asks_beyond_timing(said: str) -> bool:
    """True when a "not now" also asks something else ("What would a pilot involve?").

    A question about the timing itself ("Maybe in September?") is not another question.
    """
    questions = [q for q in sentences(said) if q.endswith("?")]
    return any(not INBOUND_SIGNS["timing"].search(q) and not timing_term(q) for q in questions)


def _with_next_step(
    answer: str, intent: Intent | None, request: ComposeRequest
) -> tuple[str, tuple[str, ...]]:
    """An open question keeps the conversation going: a fact about them, and a next step.

    Facts are English CRM text, so only an English reply quotes one.
    """
    company = clean(request.company)
    fresh = [f for f in request.facts if not already_used(f, request.used_facts)]
    quoted = next(((f, s) for f in fresh if (s := fact_sentence(f, company))), None)
    noticed = f"I noticed that {quoted[1]}." if quoted else ""
    head = WORDINGS["en"].pricing
    if intent == "pricing" and answer.startswith(head):  # the fact before the walkthrough
        parts = [head, noticed, answer.removeprefix(head).strip()]
    else:
        parts = [answer, noticed]
    if intent == "timing":  # not now: something to read, never a meeting
        parts.append("In the meantime, would it be useful if I sent you a short written overview?")
    elif intent != "pricing":  # the pricing answer already offers the walkthrough
        parts.append(f"In the meantime, would {call_length(request.offer)} next week be useful?")
    return "\n\n".join(p for p in parts if p), (quoted[0],) if quoted else ()


def _answer(intent: Intent | None, said: str, request: ComposeRequest, language: str) -> str:
    """The paragraph that answers the inbound, in `language`."""
    wording = WORDINGS[language]
    if intent == "pricing":
        return f"{wording.pricing} {_walkthrough(wording, request.offer)}"
    if intent == "question":
        return _question(wording, said, language)
    if intent == "timing":
        term = clean(timing_term(said))
        return wording.timing_term.format(term=term) if term else wording.timing
    if intent == "referral":
        person = clean(referred_person(said))
        return wording.referral_to.format(person=person) if person else wording.referral
    if intent == "not_interested":
        return wording.not_interested
    return wording.unclear


def _walkthrough(wording: ReplyWording, offer: str | None) -> str:
    """The offer as the next step, as long as the offer says (a 20-minute offer: 20 minutes)."""
    minutes = offer_minutes(offer)
    walk = wording.walk_minutes.format(minutes=minutes) if minutes else wording.walk_short
    offer_text = (clean(offer) or FALLBACK_OFFER).rstrip(".!")
    return wording.walkthrough.format(offer=offer_text, walk=walk)


def _question(wording: ReplyWording, said: str, language: str) -> str:
    """Thanks for the question, naming what it asks about; a colleague confirms the answer."""
    names = [n for n in (clean(x) for x in asked_names(said)) if n]
    if language == "de":  # German capitalises every noun: only a brand's casing names one
        names = [n for n in names if n[1:] != n[1:].lower()]
    if not names:
        return wording.question
    return wording.question_about.format(names=_listed(names[:MAX_NAMES], wording.and_))


def _listed(names: list[str], and_: str) -> str:
    """The names as a list a person would write: `A`, `A and B`, `A, B and C`."""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {and_} {names[-1]}"


def _draft(
    request: ComposeRequest,
    language: str,
    answer: str,
    intent: Intent | None,
    attention: str | None,
) -> ReplyDraft:
    body = f"{_greeting(request, language)}\n\n{answer}"
    subject = _subject(request, WORDINGS[language])
    return ReplyDraft(subject, body, language, intent or "unclear", attention)


def _greeting(request: ComposeRequest, language: str) -> str:
    """The language's greeting; in English, the plan's tone's ("Dear Ana Lopez,")."""
    first = person_case(clean(request.first_name))
    if not first:
        return WORDINGS[language].hello_alone
    if language != "en":
        return WORDINGS[language].hello.format(first=first)
    last = person_case(clean(request.last_name))
    full = f"{first} {last}" if last else first
    return GREETING[tone_for(request)].format(first=first, full=full)


def _subject(request: ComposeRequest, wording: ReplyWording) -> str:
    """`Re: ` and the inbound's subject (never `Re: Re:`), else the language's own."""
    inbound = clean(request.inbound_subject)
    subject = reply_subject(inbound) if inbound and without_reply_prefix(inbound) else None
    return clip_words(subject or wording.subject, MAX_SUBJECT)
