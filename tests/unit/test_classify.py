"""Inbound classification (SPEC §11a) over a corpus of real-shaped messages: pure, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from coachgraph.inbound.classify import Kind, MalformedMessageError, classify
from coachgraph.inbound.text import asks_to_opt_out, new_text, says_out_of_office

CORPUS = Path(__file__).parents[1] / "fixtures" / "inbound"

EXPECTED: dict[str, Kind] = {
    "reply_gmail.eml": "reply",
    "reply_outlook.eml": "reply",
    "reply_apple.eml": "reply",
    "ooo_en.eml": "auto_reply",
    "ooo_de.eml": "auto_reply",
    "ooo_fr.eml": "auto_reply",
    "ooo_es.eml": "auto_reply",
    "dsn_hard_5_1_1.eml": "hard_bounce",
    "dsn_soft_4_2_2.eml": "soft_bounce",
    "arf_complaint.eml": "complaint",
    "remove_en.eml": "unsubscribe",
    "remove_de.eml": "unsubscribe",
    "remove_fr.eml": "unsubscribe",
    "remove_es.eml": "unsubscribe",
    "unmatched.eml": "reply",
}


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_the_corpus_is_covered() -> None:
    assert {p.name for p in CORPUS.glob("*.eml")} == {*EXPECTED, "malformed.eml"}


@pytest.mark.parametrize(("name", "kind"), sorted(EXPECTED.items()))
def test_every_corpus_message_has_its_kind(name: str, kind: Kind) -> None:
    assert classify(read(name)).kind == kind


@pytest.mark.parametrize("name", ["reply_gmail.eml", "reply_outlook.eml", "reply_apple.eml"])
def test_a_quoted_unsubscribe_is_not_an_opt_out(name: str) -> None:
    found = classify(read(name))
    assert "unsubscribe" in read(name).decode("utf-8", "replace")  # it is there, quoted
    assert found.kind == "reply"
    assert "unsubscribe" not in found.text.lower()


def test_a_reply_keeps_only_its_new_text_and_its_ids() -> None:
    found = classify(read("reply_gmail.eml"))
    assert found.text.startswith("Hi Sam,") and found.text.endswith("Daniel")
    assert found.in_reply_to == ("<d0000000000000000000000000000c02@seller.example>",)
    assert found.message_id == "<CAF3k9q2Lw+reply-gmail-0001@mail.gmail.com>"
    assert found.from_email == "daniel@northwind-logistics.example"


def test_outlook_references_are_read_oldest_first() -> None:
    found = classify(read("reply_outlook.eml"))
    assert found.references[-1] == "<d0000000000000000000000000000c04@seller.example>"
    assert found.from_email == "tom.becker@northwind-logistics.example"  # lowercased


def test_a_hard_bounce_names_the_failed_recipient_and_the_original() -> None:
    found = classify(read("dsn_hard_5_1_1.eml"))
    assert found.recipients == ("fatima.alsayed@brightpath-analytics.example",)
    assert found.original_message_id == "<d0000000000000000000000000000c07@seller.example>"
    assert "5.1.1" in found.detail


def test_a_soft_bounce_is_a_4xx_status() -> None:
    found = classify(read("dsn_soft_4_2_2.eml"))
    assert found.recipients == ("ben.hartley@brightpath-analytics.example",)
    assert found.original_message_id == "<d0000000000000000000000000000c08@seller.example>"
    assert "4.2.2" in found.detail


def test_a_status_decides_over_the_action() -> None:
    """`Action: failed` with a 4.x.x status is still temporary (the Status field decides)."""
    raw = read("dsn_hard_5_1_1.eml").replace(b"Status: 5.1.1", b"Status: 4.4.7")
    assert classify(raw).kind == "soft_bounce"


def test_a_complaint_names_the_complainer_and_the_original() -> None:
    found = classify(read("arf_complaint.eml"))
    assert found.recipients == ("grace.whitfield@cedarcare-clinics.example",)
    assert found.original_message_id == "<d0000000000000000000000000000c09@seller.example>"


def test_a_malformed_message_is_refused_with_a_reason() -> None:
    with pytest.raises(MalformedMessageError, match="sender"):
        classify(read("malformed.eml"))


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Auto-Submitted", "auto-generated"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "1"),
        ("Precedence", "bulk"),
        ("Precedence", "junk"),
    ],
)
def test_machine_headers_make_an_auto_reply(header: str, value: str) -> None:
    raw = read("remove_en.eml").replace(
        b"MIME-Version", f"{header}: {value}\nMIME-Version".encode()
    )
    assert classify(raw).kind == "auto_reply"


def test_auto_submitted_no_is_a_person() -> None:
    raw = read("reply_gmail.eml").replace(b"MIME-Version", b"Auto-Submitted: no\nMIME-Version")
    assert classify(raw).kind == "reply"


@pytest.mark.parametrize(
    "text",
    [
        "Please unsubscribe me.",
        "Take me off your list, thanks",
        "Stop emailing me.",
        "Bitte abmelden.",
        "Merci de me désabonner.",
        "Quiero darme de baja.",
        "Per favore cancellatemi dalla lista.",
        "Graag afmelden voor deze mails.",
        "Por favor, remova-me da lista.",
    ],
)
def test_opt_outs_in_words(text: str) -> None:
    assert asks_to_opt_out(text)


@pytest.mark.parametrize(
    "text", ["Thanks, Thursday works.", "Can you remove the setup fee?", "Let's stop by"]
)
def test_ordinary_words_are_not_opt_outs(text: str) -> None:
    assert not asks_to_opt_out(text)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Fuori ufficio: Re: idea", ""),
        ("Automatisch antwoord: idee", ""),
        ("Re: idea", "Estou ausente até 10 de novembro."),
    ],
)
def test_out_of_office_in_more_languages(subject: str, body: str) -> None:
    assert says_out_of_office(subject, body)


def test_away_later_in_a_reply_stays_a_reply() -> None:
    """A person who mentions being away after answering replied: the thread must stop."""
    body = "Yes, let's talk. " + "Some detail about our dispatch team. " * 10
    assert not says_out_of_office("Re: idea", body + "I am out of the office next week.")


def test_new_text_stops_at_a_wrapped_gmail_header() -> None:
    body = (
        "Sounds good.\n\nOn Mon, Nov 2, 2026 at 10:00 AM Sam Rivera <sam@seller.example>\n"
        "wrote:\n> unsubscribe"
    )
    assert new_text(body) == "Sounds good."
