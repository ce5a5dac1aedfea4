"""Classify one inbound message (pure: bytes in, a `Classified` out), SPEC §11a."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from typing import Literal

from coachgraph.inbound.reports import (
    looks_like_bounce,
    read_bounce,
    read_complaint,
    report_type,
)
from coachgraph.inbound.text import asks_to_opt_out, html_to_text, new_text, says_out_of_office

Kind = Literal[
    "reply", "auto_reply", "hard_bounce", "soft_bounce", "unsubscribe", "complaint", "unknown"
]
KINDS: tuple[Kind, ...] = (
    "reply",
    "auto_reply",
    "hard_bounce",
    "soft_bounce",
    "unsubscribe",
    "complaint",
    "unknown",
)
MAX_TEXT_CHARS = 20_000
"""New text kept per message (a history row, never a whole thread of quotes)."""
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw|rif|r|res|ref|fw|fwd|wg|tr)\s*:", re.IGNORECASE)
_BULK_PRECEDENCE = ("auto_reply", "bulk", "junk", "list")


class MalformedMessageError(ValueError):
    """A message that cannot be read as mail (no sender address, no header block)."""


@dataclass(frozen=True)
class Classified:
    """What an inbound message is, and the facts matching and applying it need."""

    kind: Kind
    message_id: str | None
    """Its own Message-ID (`<…>`), if it has one."""
    from_email: str
    """The sender's normalised address."""
    subject: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    """Message-IDs it answers, oldest first."""
    text: str
    """The new text its sender wrote (quoted parts removed)."""
    original_message_id: str | None = None
    """For a bounce or complaint: the Message-ID of the message it is about."""
    recipients: tuple[str, ...] = ()
    """For a bounce or complaint: the addresses that failed or complained."""
    detail: str = ""
    """One line saying why it is this kind."""


def classify(raw: bytes) -> Classified:
    """Read and classify one message.

    Raises:
        MalformedMessageError: the bytes are not a readable message.
    """
    message = email.message_from_bytes(raw)
    sender = sender_of(message)
    if sender is None:
        raise MalformedMessageError("no sender address (From) could be read from the message")
    base = _base(message, sender)
    return _as_report(message, base) or _as_written(message, base)


def _base(message: Message, sender: str) -> Classified:
    text = new_text(body_text(message))[:MAX_TEXT_CHARS]
    return Classified(
        kind="reply",
        message_id=next(iter(message_ids(message.get("Message-ID"))), None),
        from_email=sender,
        subject=header_text(message.get("Subject")),
        in_reply_to=message_ids(message.get("In-Reply-To")),
        references=message_ids(message.get("References")),
        text=text,
    )


def _as_report(message: Message, base: Classified) -> Classified | None:
    """A complaint or a bounce, or None when the message is neither."""
    if report_type(message) == "feedback-report":
        found = read_complaint(message)
        return _replace(
            base,
            "complaint",
            f"abuse report (ARF, {found.feedback_type or 'abuse'})",
            found.original_message_id,
            found.recipients,
        )
    if not looks_like_bounce(message, base.from_email):
        return None
    bounce = read_bounce(message)
    if bounce is None:
        return _replace(base, "unknown", "a bounce whose failed recipient could not be read")
    if bounce.status is not None and bounce.status.startswith("2"):
        return _replace(base, "auto_reply", f"delivery notice (status {bounce.status})")
    kind: Kind = "hard_bounce" if bounce.permanent else "soft_bounce"
    detail = f"status {bounce.status or ('5' if bounce.permanent else '4') + '.x.x'}"
    detail += f" for {', '.join(bounce.recipients) or 'an unnamed recipient'}"
    return _replace(base, kind, detail, bounce.original_message_id, bounce.recipients)


def _as_written(message: Message, base: Classified) -> Classified:
    """An auto-reply, an opt-out in words, or a person's reply."""
    if why := automated(message):
        return _replace(base, "auto_reply", why)
    if says_out_of_office(base.subject, base.text):
        return _replace(base, "auto_reply", "out-of-office note")
    own_subject = "" if _REPLY_PREFIX.match(base.subject) else base.subject
    if asks_to_opt_out(f"{own_subject}\n{base.text}"):
        return _replace(base, "unsubscribe", "asks in words to stop being contacted")
    return _replace(base, "reply", "a person's reply")


def automated(message: Message) -> str | None:
    """Which header marks the message as sent by a machine, or None."""
    submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if header in message:
            return f"{header} header"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if report_type(message) == "disposition-notification":
        return "read receipt (MDN)"
    return "mailing-list header" if "List-Id" in message else None


def _replace(
    base: Classified,
    kind: Kind,
    detail: str,
    original: str | None = None,
    recipients: tuple[str, ...] = (),
) -> Classified:
    return Classified(
        kind=kind,
        message_id=base.message_id,
        from_email=base.from_email,
        subject=base.subject,
        in_reply_to=base.in_reply_to,
        references=base.references,
        text=base.text,
        original_message_id=original,
        recipients=recipients,
        detail=detail,
    )


def sender_of(message: Message) -> str | None:
    """The normalised address in From (else Sender, else Return-Path), or None."""
    for header in ("From", "Sender", "Return-Path"):
        for _, address in getaddresses([header_text(message.get(header))]):
            if "@" in address and " " not in address.strip():
                return address.strip().lower()
    return None


def message_ids(value: object) -> tuple[str, ...]:
    """The `<…>` Message-IDs in a header value, in order."""
    return tuple(_MESSAGE_ID.findall(str(value or "")))


def header_text(value: object) -> str:
    """A header's text, encoded words decoded, on one line."""
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError):  # a bad charset: keep the raw text
        text = str(value)
    return " ".join(text.split())


def body_text(message: Message) -> str:
    """The first plain-text part (else the first HTML part as text) outside attachments."""
    plain = _first_part(message, "text/plain")
    if plain is not None:
        return plain
    markup = _first_part(message, "text/html")
    return html_to_text(markup) if markup is not None else ""


def _first_part(message: Message, content_type: str) -> str | None:
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            break  # the quoted original of a report or forward is not the sender's text
        if part.get_content_type() == content_type and not part.get_filename():
            return _decode(part)
    return None


def _decode(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return raw.decode("utf-8", "replace")
