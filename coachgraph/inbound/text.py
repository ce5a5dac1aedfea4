"""The words of inbound mail: the new text of a message, opt-outs and out-of-office notes."""

from __future__ import annotations

import html
import re

QUOTE_HEADERS = (
    r"^On .{1,300}wrote:\s*$",  # Gmail, Apple Mail, Thunderbird
    r"^Am .{1,300}schrieb.{0,100}:\s*$",
    r"^Le .{1,300}a écrit\s*:\s*$",
    r"^El .{1,300}escribió\s*:\s*$",
    r"^Il giorno .{1,300}ha scritto\s*:\s*$",
    r"^Op .{1,300}(schreef|geschreven).{0,100}:\s*$",
    r"^Em .{1,300}escreveu\s*:\s*$",
    r"^-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original"
    r"|Messaggio originale|Oorspronkelijk bericht|Mensagem original)\s*-{2,}\s*$",
    r"^_{10,}\s*$",  # Outlook's rule above the quoted header block
    r"^-- $",  # a signature
)
"""Lines where the quoted part (or the signature) of a reply begins. An Outlook header block
(`From:` followed by `Sent:` or `Date:`) is recognised by `_starts_quote`."""
_QUOTE_START = re.compile("|".join(f"(?:{p})" for p in QUOTE_HEADERS), re.IGNORECASE)
_OUTLOOK_HEADER = re.compile(r"^(From|Von|De|Da|Van)\s*:.*$", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(
    r"^(Sent|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Date|Datum)\s*:", re.IGNORECASE
)
_WRAPPED_ON = re.compile(r"^On .{1,200}$", re.IGNORECASE)

OPT_OUT_PHRASES = (
    # English
    r"unsubscribe",
    r"remove me",
    r"take me off",
    r"stop (e-?mailing|mailing|sending|contacting)",
    r"opt me out",
    r"do not (contact|e-?mail) me",
    r"don'?t (contact|e-?mail) me",
    r"no more e-?mails",
    # German
    r"abmelden",
    r"abbestellen",
    r"austragen",
    r"entfernen sie mich",
    r"nehmen sie mich (von|aus)",
    r"keine (weiteren )?(e-?mails|nachrichten)",
    r"nicht mehr (kontaktieren|anschreiben)",
    # French
    r"désabonne[rz]",
    r"désinscri(re|vez|s)",
    r"retirez[- ]moi",
    r"supprimez[- ]moi",
    r"arrêtez de m'?\s?(envoyer|écrire|contacter)",
    r"ne (plus|pas) (me )?(contacter|recevoir)",
    # Spanish
    r"dar(me)? de baja",
    r"denme de baja",
    r"cancelar (la |mi )?suscripción",
    r"elimín(eme|enme|ame|adme)",
    r"quít(enme|ame|adme)",
    r"(dejen|deja|dejad) de (enviarme|escribirme|contactarme)",
    r"no me (envíen|envíes|escriban) más",
    # Italian
    r"disiscriv(i|er)mi",
    r"cancellatemi",
    r"cancellami",
    r"rimuov(etemi|imi)",
    r"toglietemi",
    r"smettete di (scrivermi|contattarmi)",
    r"non voglio più ricevere",
    # Dutch
    r"afmelden",
    r"uitschrijven",
    r"schrijf me uit",
    r"verwijder (me|mij)",
    r"haal (me|mij) (van|uit)",
    r"stop met (mailen|e-?mailen)",
    r"geen e-?mails meer",
    # Portuguese
    r"descadastr(ar|e-me)",
    r"cancelar (a |minha )?inscrição",
    r"remov(a|am)-me",
    r"remover-me",
    r"tir(e|em)-me",
    r"par(e|em) de me (enviar|contactar|escrever)",
    r"não quero (mais )?receber",
)
"""Explicit opt-outs in words (EN, DE, FR, ES, IT, NL, PT), matched in the new text only."""
_OPT_OUT = re.compile("|".join(rf"(?<!\w)(?:{p})(?!\w)" for p in OPT_OUT_PHRASES), re.IGNORECASE)

OUT_OF_OFFICE_PHRASES = (
    r"out of (the )?office",
    r"automatic reply",
    r"auto-?reply",
    r"away from (the )?office",
    r"i am (currently )?(away|on (vacation|holiday|leave))",
    r"abwesenheitsnotiz",
    r"automatische antwort",
    r"nicht im büro",
    r"außer haus",
    r"ich bin (derzeit )?(abwesend|im urlaub)",
    r"absen(t|te) du bureau",
    r"absence du bureau",
    r"réponse automatique",
    r"je suis (actuellement )?absente?",
    r"fuera de la oficina",
    r"respuesta automática",
    r"estoy (actualmente )?(fuera|ausente|de vacaciones)",
    r"fuori ufficio",
    r"risposta automatica",
    r"sono (attualmente )?(assente|in ferie)",
    r"afwezigheidsbericht",
    r"automatisch antwoord",
    r"niet op kantoor",
    r"ik ben (momenteel )?(afwezig|met vakantie)",
    r"fora do escritório",
    r"resposta automática",
    r"ausência temporária",
    r"estou (atualmente )?(ausente|de férias)",
)
"""Out-of-office notes (EN, DE, FR, ES, IT, NL, PT), in the subject or the opening lines."""
_OUT_OF_OFFICE = re.compile(
    "|".join(rf"(?<!\w)(?:{p})(?!\w)" for p in OUT_OF_OFFICE_PHRASES), re.IGNORECASE
)
OPENING_CHARS = 300
"""How much of a body's new text an out-of-office note must start within: a person's reply
that mentions being away later on stays a reply (a missed reply is the worse mistake)."""


def new_text(body: str) -> str:
    """The part of a plain-text reply its sender wrote: no quoted lines, no quoted message."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _starts_quote(line, lines[i + 1 : i + 2]):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip()


def _starts_quote(line: str, following: list[str]) -> bool:
    """True on a line that opens the quoted part (`On … wrote:` may wrap onto two lines)."""
    stripped, after = line.strip(), following[0].strip() if following else ""
    if _QUOTE_START.match(stripped):
        return True
    if _OUTLOOK_HEADER.match(stripped):
        return _OUTLOOK_NEXT.match(after) is not None
    return bool(_WRAPPED_ON.match(stripped)) and after.lower().endswith("wrote:")


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body, without its quoted blocks (Gmail, Outlook, Apple)."""
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", markup)
    markup = re.sub(r"(?is)<blockquote\b.*?</blockquote>", "", markup)
    markup = re.sub(r'(?is)<div[^>]*class="[^"]*gmail_quote.*', "", markup)
    markup = re.sub(r'(?is)<div[^>]*id="(divRplyFwdMsg|appendonsend)".*', "", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", markup)
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def asks_to_opt_out(text: str) -> bool:
    """True when the new text asks, in words, to stop being contacted."""
    return _OPT_OUT.search(text) is not None


def says_out_of_office(subject: str, text: str) -> bool:
    """True when the subject, or the opening of the new text, is an out-of-office note."""
    return bool(_OUT_OF_OFFICE.search(subject) or _OUT_OF_OFFICE.search(text[:OPENING_CHARS]))
