"""What CRM or inbound text may never carry into a draft: template markers and instructions."""

from __future__ import annotations

import re

# The merge tags a template can leave behind: {{ jinja }}, {python}, [Bracket Words] in any
# script ([Prénom], [Имя]), %FIRSTNAME%, <<name>> and Mailchimp's *|FNAME|*.
MARKER_PATTERNS = (
    re.compile(r"\{\{.*?\}\}", re.DOTALL),
    re.compile(r"\{[^{}\n]{0,60}\}"),
    re.compile(r"\[\s*[^\W\d_](?:[^\W\d]|[ .\-]){0,40}\s*\]"),
    re.compile(r"%[A-Za-z][A-Za-z0-9_]{0,40}%"),
    re.compile(r"<<\s*[^<>\n]{1,40}?\s*>>"),
    re.compile(r"\*\|[A-Za-z0-9_:]{1,40}\|\*"),
)
# Text that addresses a reader (an AI, a system), sets a setting, or names an address, rather
# than stating a fact: a role prefix, a `key: value` for a setting or flag, an override.
_SETTING_KEYS = (
    r"tone|angle|max_touches|cadence(?:_days)?|stop_criteria|unsubscribed|bounced|replied"
    r"|do_not_contact|suppressed|status|role|roles|recipient|to|from|cc|bcc|subject|sender"
    r"|reply[_-]to|priority|instructions?|prompt|mode|temperature|model|action"
)
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|override|forget)\b.{0,40}\b(instruction|rule|prompt|previous|above)s?\b"
    r"|\b(assistant|system prompt|system|ai)(?:\s+(?:note|message|instruction|override))?\s*:"
    r"|(?:^|[.!?\n]\s*)(?:user|human|developer|model|bot)\s*[:>]"
    r"|<\|?/?(?:system|im_start|im_end|assistant|user)\|?>|\[/?INST\]|^\s*#{2,}\s*\w"
    rf"|\b(?:{_SETTING_KEYS})\s*[:=]\s*\S"
    r"|\b[a-z]+_[a-z_]+\s*[:=]"
    r"|\b(?:you must|you should|you are now|you will now|act as|pretend (?:to be|you)"
    r"|from now on|new instructions?|instead,? (?:write|say|send|use|tell)"
    r"|(?:do not|don't|never) (?:mention|include|add|say|write|tell)"
    r"|always (?:say|write|include|mention|add|end|sign)|make sure (?:to|you)|be sure to"
    r"|(?:set|change|switch) (?:the |your )?\w+ to|switch to (?:a|an|the)\b[^.\n]{0,30}\btone"
    r"|respond (?:with|in|only))\b"
    r"|\b(cc|bcc|forward|send)\b.{0,40}@"
    r"|[\w.+-]+@[\w-]+\.[\w.]+",
    re.IGNORECASE | re.MULTILINE,
)


_KEYWORD = r"(?:unsubscribe|opt[- ]?out|stop|remove(?: me)?)"
# An opt-out line tells the reader how to stop the emails; a body that merely mentions
# the word ("opt-out rates fall by half") has none. Each pattern is matched line by line.
_OPT_OUT_LINE = re.compile(
    rf"\breply(?:\s+with)?\s*[\"'“‘]?{_KEYWORD}\b"
    r"|\breply\b[^\n]{0,40}\bto\s+(?:unsubscribe|opt[- ]?out)\b"
    r"|^\W*(?:to\s+)?(?:unsubscribe|opt[- ]?out)\s*[:,]"
    r"|\b(?:you can|you may|feel free to)\s+(?:always\s+)?(?:unsubscribe|opt[- ]?out)\b"
    r"|\b(?:click|tap|visit|follow|use)\b[^\n]{0,30}\b(?:unsubscribe|opt[- ]?out)\b"
    r"|\b(?:unsubscribe|opt[- ]?out)\s+(?:here|below|link|at any time|any ?time)\b"
    r"|\b(?:unsubscribe|opt[- ]?out)\b[^\n]{0,10}(?:https?://|mailto:)"
    r"|\bif you(?:'d|’d| would)? (?:rather|prefer) not (?:to )?(?:hear|receive|get)\b",
    re.IGNORECASE | re.MULTILINE,
)
# The same in DE, FR, ES, IT, NL and PT: "reply STOP", "if you would rather not receive",
# "you can unsubscribe". "Abmeldungen sind gesunken" or "la tasa de bajas" tells nobody how.
_FOREIGN_OPT_OUT_LINE = re.compile(
    r"\bantworten sie\b.{0,40}\b(?:abmelden|stop|austragen)"
    r"|\bwenn sie keine (?:weiteren )?(?:e-mails|nachrichten)"
    r"|\bsie können sich\b.{0,30}\b(?:abmelden|austragen)\b"
    r"|\brépondez\b.{0,30}\b(?:stop|désinscri\w*|désabonner)"
    r"|\bsi vous ne souhaitez plus recevoir"
    r"|\bvous pouvez vous\b.{0,20}\b(?:désinscrire|désabonner)\b"
    r"|\bresponda\b.{0,30}\b(?:baja|stop)|\bsi (?:prefiere|no desea) (?:no )?recibir"
    r"|\bpuede darse de baja\b"
    r"|\brispond\w*\b.{0,30}\b(?:stop|cancella\w*)"
    r"|\bse (?:preferisce|non desidera) (?:non )?ricevere"
    r"|\bantwoord\w*\b.{0,30}\b(?:stop|afmelden)|\bals u geen\b.{0,30}\bwilt ontvangen"
    r"|\bu kunt zich\b.{0,20}\bafmelden\b"
    r"|\brespond\w*\b.{0,30}\b(?:sair|descadastrar)|\bse (?:preferir|não quiser) (?:não )?receber",
    re.IGNORECASE,
)


def has_opt_out_line(body: str) -> bool:
    """True when `body` tells the reader how to opt out, in one of the common wordings.

    English, German, French, Spanish, Italian, Dutch or Portuguese: a reply in the inbound's
    language carries its footer in that language too.
    """
    return bool(_OPT_OUT_LINE.search(body) or _FOREIGN_OPT_OUT_LINE.search(body))


def find_markers(text: str) -> list[str]:
    """Every unresolved template marker in `text`, in order of appearance."""
    found: list[tuple[int, str]] = []
    for pattern in MARKER_PATTERNS:
        for match in pattern.finditer(text):
            if not any(start <= match.start() < start + len(m) for start, m in found):
                found.append((match.start(), match.group(0)))
    return [m for _, m in sorted(found)]


def has_marker(text: str) -> bool:
    """True when `text` holds any template marker."""
    return bool(find_markers(text))


def looks_like_instruction(text: str) -> bool:
    """True when `text` reads like an instruction or carries an email address."""
    return bool(_INSTRUCTION.search(text))


def why_unquotable(text: str) -> str | None:
    """Why a piece of CRM or inbound text must not be quoted in an email, or None."""
    if has_marker(text):
        return "holds a template marker"
    if looks_like_instruction(text):
        return "reads like an instruction or holds an address, not data to quote"
    return None
