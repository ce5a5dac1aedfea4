"""The word helpers and the language guesser the composer and the evaluators share."""

from __future__ import annotations

import pytest

from evals import scoring
from nodes.email import language
from nodes.email.language import detect_language, foreign_in, keywords, unknown_language, words


def test_the_evaluators_use_the_composers_word_helpers() -> None:
    assert scoring.words is language.words
    assert scoring.keywords is language.keywords
    assert scoring.sentences is language.sentences


def test_words_are_lower_cased_and_keep_apostrophes() -> None:
    assert words("Don't STOP, Lucía’s team!") == ["don't", "stop", "lucía’s", "team"]


def test_keywords_match_whole_words_and_phrases_only() -> None:
    pattern = keywords("cost", "how much")
    assert pattern.search("How  much is it?") and pattern.search("the COST")
    assert not pattern.search("costs and costing") and not pattern.search("somehow muchness")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Grazie, ma non ora. Ne riparliamo più avanti, magari a settembre.", "it"),
        ("Bedankt voor je bericht. Werkt dit ook met HubSpot?", "nl"),
        ("Obrigado pelo contato, mas não temos interesse neste momento.", "pt"),
    ],
)
def test_the_guesser_names_the_language_of_a_short_reply(text: str, lang: str) -> None:
    assert detect_language(text, min_hits=3) == lang


def test_the_guesser_answers_none_when_unsure() -> None:
    assert detect_language("Salesforce? Q2.", min_hits=3) is None


def test_a_pasted_sentence_in_another_language_is_found() -> None:
    assert foreign_in("die Firma hat ein neues Lager in Lyon eröffnet", "en") == "de"
    assert foreign_in("the company opened a new depot in Lyon", "en") is None


@pytest.mark.parametrize(
    ("text", "written_in"),
    [
        ("Здравствуйте, сколько это стоит для команды?", "Cyrillic script"),
        ("Γεια σας, πόσο κοστίζει αυτό για μια ομάδα;", "Greek script"),
        ("这个产品的价格是多少？", "CJK script"),
        ("このせいひんのねだんをおしえてください。", "Hiragana script"),
        (
            "Hej! Tack för ditt mejl. Vad kostar det för ett team på tio personer?",
            "a language other than en, de, fr, es, it, nl, pt",
        ),
    ],
)
def test_a_language_without_templates_is_told_apart(text: str, written_in: str) -> None:
    assert unknown_language(text) == written_in


@pytest.mark.parametrize(
    "text",
    [
        "Price?",
        "Salesforce, HubSpot, Pipedrive?",
        "Thanks for the note. Does this work with the tools that we have today?",
        "Danke für Ihre Nachricht. Im Moment passt es nicht, vielleicht im Q2.",
        "",
    ],
)
def test_a_known_or_short_text_is_not_called_foreign(text: str) -> None:
    assert unknown_language(text) is None
