"""A CRM fact as a sentence a person would write, or nothing.

Facts arrive as research notes: a clause without its subject ("launched a self-checkout
app"), a paragraph of eighty words, a line in German, bad news, or text planted to steer
the model. A fact is woven in only when it reads as one short sentence in the email's
language about something a prospect would be glad to hear mentioned; otherwise it is left
out, and the email simply says less.
"""

from __future__ import annotations

import re

from nodes.email.language import detect_language, foreign_in, word_counts
from nodes.email.text_rules import why_unquotable

MAX_FACT_WORDS = 30
"""Longer than this, a fact is a paragraph to summarise, not a sentence to quote."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(]?[A-Z0-9])")
# News nobody wants quoted back at them in a sales email.
_SENSITIVE = re.compile(
    r"\b(laid off|lay(?:s|ing)? off|layoffs?|job cuts|cut \d[\d,]* (?:jobs|staff|roles)"
    r"|redundanc\w*|restructur\w*|downsiz\w*|lawsuits?|sued|fined|fines|penalt\w*|breach"
    r"|data leak|hack(?:ed)?|bankrupt\w*|insolven\w*|administration|losses|net loss|recalls?"
    r"|investigat\w*|scandal|fraud|resign\w*|fired|dismiss\w*|strikes?|walkouts?|closures?"
    r"|clos(?:ed|ing|es) (?:down|its|their|the)|shut(?:s|ting)? down|died|death|passed away)\b",
    re.IGNORECASE,
)
# First words that start a sentence without being a name: they may be written in lower case
# after "I noticed that …".
_COMMON_OPENERS = frozenset(
    (
        *("a", "an", "the", "this", "that", "these", "those", "its", "their", "our", "his"),
        *("her", "in", "on", "at", "by", "for", "from", "with", "over", "since", "after"),
        *("before", "during", "last", "earlier", "recently", "according", "early", "late"),
    )
)
# A fact starting in lower case with one of these already has its subject.
_HAS_SUBJECT = _COMMON_OPENERS | frozenset(("it", "they", "we", "he", "she", "there"))


def fact_sentence(fact: str, company: str | None) -> str | None:
    """`fact` as a clause to follow "I noticed that", or None when it should be left out.

    Its first sentence only, at most MAX_FACT_WORDS words, in English, not bad news, not
    an instruction or a template marker; a clause with no subject gets the company's name
    ("launched an app" → "Acme launched an app").
    """
    text = " ".join(fact.split())
    if not text or why_unquotable(text):
        return None
    first = _SENTENCE_END.split(text, 1)[0].strip().rstrip(".!?;:,")
    words = first.split()
    if not words or len(words) > MAX_FACT_WORDS or len(words) < 3:
        return None
    if _foreign(first) or _SENSITIVE.search(first):
        return None
    head = words[0]
    if head.islower() and head.strip("“\"'(").lower() not in _HAS_SUBJECT:
        if not company:
            return None
        return f"{company} {first}"
    if head.lower() in _COMMON_OPENERS and head[1:].islower():
        return head.lower() + first[len(head) :]
    return first


def _foreign(text: str) -> bool:
    """True when the text is in a language other than English.

    A fact is one short sentence, so two function words of another language and none of
    English's are enough ("… hat 2026 einen neuen Standort …").
    """
    said = detect_language(text, min_hits=3)
    if (said is not None and said != "en") or foreign_in(text, "en") is not None:
        return True
    counts = word_counts(text)
    return counts["en"] == 0 and max(n for lang, n in counts.items() if lang != "en") >= 2
