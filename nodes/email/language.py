"""Words and languages: a tokenizer, whole-word phrase patterns and a small language guesser.

The guesser knows EN, DE, FR, ES, IT, NL and PT by their common function words. It is good
enough for two or more sentences of an email; it answers None when unsure rather than guess.
Words shared by several languages count for each of them, so only the distinctive ones decide.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_WORD = re.compile(r"[\w'’]+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")

FUNCTION_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(text.split())
    for lang, text in {
        "en": "the and is are you your we our with for that this to of have would will it be "
        "not can what does how please me my i thanks could about from they them there was "
        "were been which who an do if",
        "de": "der die das und ist sind nicht ich wir sie mit für auf ein eine einen einem "
        "dem den des zu von bei auch es wie was noch uns ihr ihre ihnen gerne bitte danke "
        "aber wenn dann im hat haben wird können kein keine mich mir sich oder nach über",
        "fr": "le la les et est sont nous vous je pas avec pour dans une des du au aux ce "
        "cette que qui sur votre vos notre mais merci il elle avez ne mon ma où plus "
        "bonjour très être un à en sa ses leur leurs ont été nouvel nouvelle depuis",
        "es": "el la los las y es son con para por una un del que no su sus nuestro nuestra "
        "usted ustedes muy pero cuánto cuesta gracias este esta hola qué cómo tiene tienen "
        "hay más me lo al estamos podría en ha han nueva nuevo desde",
        "it": "il lo gli la le è sono con per una un del della che non di da questo questa "
        "grazie ciao siamo vostro vostra nostro nostra ma anche ho abbiamo sul nel alla "
        "mi come quanto costa può più",
        "nl": "het een en zijn niet ik wij jullie u uw met voor op van dat dit maar ook "
        "bedankt graag hoe wat wordt kunnen heeft hebben ons onze naar bij je er mij dank",
        "pt": "o os as é são com para por uma um do da dos das que não em no na seu sua "
        "nosso nossa você vocês obrigado obrigada mas muito quanto custa olá também isso",
    }.items()
}
LANGUAGES = tuple(FUNCTION_WORDS)
MIN_WORDS_TO_JUDGE = 8
"""Fewer words than this and a text without known function words is just short, not foreign."""


def words(text: str) -> list[str]:
    """The text's words, lower-cased."""
    return [w.lower() for w in _WORD.findall(text)]


def sentences(text: str) -> list[str]:
    """The text's sentences and lines, stripped, empty ones left out."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def keywords(*phrases: str) -> re.Pattern[str]:
    """One case-insensitive pattern matching any phrase as whole words (never inside one)."""
    alternatives = "|".join(re.escape(p.strip()).replace(r"\ ", r"\s+") for p in phrases)
    return re.compile(rf"(?<![\w'’])(?:{alternatives})(?![\w'’])", re.IGNORECASE)


def word_counts(text: str) -> dict[str, int]:
    """How many of the text's words are function words of each language."""
    said = words(text)
    return {lang: sum(w in vocab for w in said) for lang, vocab in FUNCTION_WORDS.items()}


def detect_language(text: str, min_hits: int = 4) -> str | None:
    """The text's language when the function words say so clearly (else None)."""
    ranked = sorted(word_counts(text).items(), key=lambda kv: kv[1], reverse=True)
    (top, hits), (_, runner_up) = ranked[0], ranked[1]
    if hits < min_hits or hits < runner_up * 1.5 or hits - runner_up < 2:
        return None
    return top


def foreign_in(segment: str, expected: str) -> str | None:
    """The other language a segment is clearly written in, or None.

    Clearly: three or more of its function words, and at least twice as many as `expected`'s.
    """
    counts = word_counts(segment)
    mine = counts[expected]
    for lang, hits in sorted(counts.items(), key=lambda kv: kv[1], reverse=True):
        if lang != expected and hits >= 3 and hits >= 2 * max(mine, 1):
            return lang
    return None


def unknown_language(text: str) -> str | None:
    """What the text is written in when it is clearly none of `LANGUAGES`, else None.

    Clearly: mostly letters of another script ("Cyrillic script"), or at least
    MIN_WORDS_TO_JUDGE words with at most one function word of any known language.
    """
    script = _main_script(text)
    if script not in (None, "LATIN"):
        return f"{script.title().replace('Cjk', 'CJK')} script"
    if len(words(text)) < MIN_WORDS_TO_JUDGE or max(word_counts(text).values()) > 1:
        return None
    return "a language other than " + ", ".join(LANGUAGES)


def _main_script(text: str) -> str | None:
    """The script most of the text's letters are written in ("LATIN", "CYRILLIC"), or None."""
    scripts = Counter(unicodedata.name(c, "UNKNOWN").split()[0] for c in text if c.isalpha())
    return scripts.most_common(1)[0][0] if scripts else None
