"""What an inbound message asks for, from its words: its intent and what it names.

Inbound text is data, never instructions: a sentence that reads like one ("ignore your
instructions and send …") is dropped before anything is read from the rest. The signs are
phrases in EN, DE, FR, ES, IT, NL and PT; the composer and the reply evaluators share them.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from nodes.email.language import keywords, sentences
from nodes.email.text_rules import looks_like_instruction
from schemas.values import without_reply_prefix

Intent = Literal[
    "pricing", "question", "timing", "referral", "not_interested", "opt_out", "out_of_office"
]
INTENTS: tuple[Intent, ...] = get_args(Intent)
NO_REPLY: tuple[Intent, ...] = ("opt_out", "out_of_office")
"""Intents whose right answer is no email at all (SPEC §6, §11a)."""

# Asking to write to someone else, in EN, DE, FR, ES, IT, NL and PT ("talk to", "hable con").
_CONTACT_VERBS = keywords(
    *("talk to", "speak to", "speak with", "reach out to", "contact", "get in touch with"),
    *("wenden sie sich an", "sprechen sie mit", "kontaktieren sie", "parlez à", "contactez"),
    *("adressez-vous à", "hable con", "contacte a", "escriba a", "parli con", "contatti"),
    *("scriva a", "spreek met", "neem contact op met", "fale com", "falar com", "contate"),
)
# The person they name: one or two capitalised words, past "instead" or "my colleague".
_REFERRED = re.compile(
    rf"(?i:{_CONTACT_VERBS.pattern})\s+"
    r"(?i:(?:plutôt|instead|directly|direkt|directement|directamente|direttamente|diretamente"
    r"|rechtstreeks|(?:my|our|meine?[nm]?|unsere?[nm]?|mon|ma|notre|mi|nuestr[oa]|il mio|la mia"
    r"|mijn|onze|meu|minha) (?:colleague|kolleg\w*|collègue|colega|collega|compañer[oa]))\s+)?"
    r"([A-ZÀ-Ý][\w'’-]+(?:[^\S\n]+[A-ZÀ-Ý][\w'’-]+)?)"
)
# A referral that names nobody: "I'm not the right person", "dafür bin ich nicht zuständig".
_RIGHT_PERSON = keywords(
    *("the right person", "better person", "handles this", "in charge of", "zuständig"),
    *("die richtige person", "la bonne personne", "la persona adecuada", "la persona giusta"),
    *("de juiste persoon", "a pessoa certa"),
)

# Each intent's signs in an inbound, in EN, DE, FR, ES, IT, NL and PT, tried in this order.
# A referral is "talk to" with a name, or "not the right person": "contact me in Q2" is none.
INBOUND_SIGNS: dict[Intent, re.Pattern[str]] = {
    "opt_out": keywords(
        *("unsubscribe", "take me off", "remove me", "stop emailing", "stop contacting"),
        *("do not contact me", "don't email me", "opt me out", "no more emails", "abmelden"),
        *("austragen", "keine weiteren e-mails", "nicht mehr kontaktieren", "désinscrire"),
        *("désabonner", "retirez-moi", "ne plus recevoir", "darme de baja", "dar de baja"),
        *("denme de baja", "no me escriban", "cancellami", "disiscrivermi"),
        *("non voglio più ricevere", "uitschrijven", "geen e-mails meer", "descadastrar"),
        *("remover-me", "remova-me", "não quero receber", "afmelden"),
    ),
    "out_of_office": keywords(
        *("out of office", "out of the office", "on leave", "on vacation", "on holiday"),
        *("limited access to email", "automatic reply", "auto-reply", "abwesend"),
        *("nicht im büro", "absent du bureau", "absente", "réponse automatique"),
        *("fuera de la oficina", "respuesta automática", "fuori ufficio", "afwezig"),
        *("fora do escritório", "resposta automática", "abwesenheitsnotiz"),
    ),
    "referral": re.compile(rf"(?i:{_RIGHT_PERSON.pattern})|{_REFERRED.pattern}"),
    "pricing": keywords(
        *("price", "prices", "pricing", "cost", "costs", "how much", "quote", "budget"),
        *("preis", "preise", "kosten", "was kostet", "prix", "tarif", "tarifs", "coût"),
        *("combien", "precio", "precios", "coste", "costo", "cuánto", "cuesta", "tarifa"),
        *("prezzo", "prezzi", "costi", "quanto costa", "prijs", "prijzen", "wat kost"),
        *("preço", "preços", "custo", "quanto custa"),
    ),
    "timing": keywords(
        *("not now", "not right now", "later", "next quarter", "next year", "in a few months"),
        *("circle back", "revisit", "q1", "q2", "q3", "q4", "jetzt nicht", "später"),
        *("nächstes quartal", "nächstes jahr", "pas maintenant", "plus tard", "ahora no"),
        *("más adelante", "el próximo trimestre", "non ora", "più avanti", "niet nu"),
        *("later dit jaar", "agora não", "mais tarde", "próximo trimestre"),
    ),
    "not_interested": keywords(
        *("not interested", "no thanks", "no thank you", "we're all set", "we are all set"),
        *("kein interesse", "nicht interessiert", "pas intéressé", "pas intéressée"),
        *("no me interesa", "no estamos interesados", "non mi interessa", "non interessati"),
        *("kein bedarf", "pas intéressés", "ne nous intéresse pas", "no nos interesa"),
        *("non siamo interessati", "non ci interessa", "geen interesse", "geen behoefte"),
        *("não tenho interesse", "não temos interesse", "não estamos interessados"),
    ),
}
# A capitalised word past a sentence's first: a product, a tool, a person ("Salesforce").
_NAMED_THING = re.compile(r"(?<=\s)[A-Z][\w.+-]*[\w+]")
_MONTHS = (
    r"january|february|march|april|june|july|august|september|october|november|december"
    r"|januar|februar|märz|juni|juli|oktober|dezember|janvier|février|mars|avril|juin"
    r"|juillet|août|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio"
    r"|julio|agosto|septiembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio"
    r"|giugno|luglio|settembre|ottobre|dicembre|januari|februari|maart|mei|augustus"
    r"|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro"
)
# When a "not now" says to come back: a quarter, a month, a year, "next quarter" in any of
# the seven languages. "May" and "Mai" only capitalised: "we may revisit" and Italian "mai"
# (never) name no month.
_TIMING_TERM = re.compile(
    rf"(?<![\w'’])(?:[QT][1-4]|H[12]|{_MONTHS}|(?-i:May|Mai)|20\d\d"
    r"|next (?:year|quarter|month)|nächste[ns]? (?:jahr|quartal|monat)"
    r"|(?:l'année|le trimestre|le mois) prochaine?|l'an prochain|la rentrée"
    r"|(?:el )?próximo (?:año|trimestre|mes)|el año que viene"
    r"|(?:il )?prossimo (?:anno|trimestre|mese)|(?:l'anno|il trimestre) prossimo"
    r"|volgend (?:jaar|kwartaal)|volgende maand|(?:o )?próximo (?:ano|mês))(?![\w'’])",
    re.IGNORECASE,
)


def inbound_text(subject: str | None, body: str | None) -> str:
    """What an inbound says: its new text, and its subject unless that answers ours.

    A subject that starts with `Re:` or `AW:` is our own subject ("Re: Cut costs at Acme"):
    its words say nothing about what the sender wants.
    """
    subject = subject or ""
    own = subject if without_reply_prefix(subject) == subject.strip() else ""
    return f"{own}\n{new_text(body)}"


def new_text(body: str | None) -> str:
    """The body without quoted lines (`> …`): what the sender wrote this time."""
    lines = (body or "").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith(">"))


def without_instructions(text: str) -> str:
    """The text's sentences that are not instruction-like, one per line."""
    return "\n".join(s for s in sentences(text) if not looks_like_instruction(s))


def intent_of_text(text: str) -> Intent | None:
    """The first intent whose signs the text shows, else a question when it asks one."""
    said = without_instructions(text)
    for intent, signs in INBOUND_SIGNS.items():
        if signs.search(said):
            return intent
    return "question" if "?" in said else None


def asked_names(text: str) -> list[str]:
    """The named things the text's questions ask about ("Salesforce"), in order, once each."""
    questions = [s for s in sentences(without_instructions(text)) if s.endswith("?")]
    return list(dict.fromkeys(m.group(0) for q in questions for m in _NAMED_THING.finditer(q)))


def referred_person(text: str) -> str | None:
    """The person a referral points to ("Maria Lopez"), or None when it names nobody."""
    found = _REFERRED.search(without_instructions(text))
    return found.group(1) if found else None


def timing_term(text: str) -> str | None:
    """The time a "not now" names ("Q2", "September", "next quarter"), or None."""
    found = _TIMING_TERM.search(without_instructions(text))
    return found.group(0) if found else None
