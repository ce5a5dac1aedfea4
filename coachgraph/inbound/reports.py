"""Machine reports in inbound mail: delivery-status notifications (RFC 3464) and ARF (RFC 5965)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures  # type: ignore[import-untyped]  # no stubs

_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon")
"""Local parts of the senders that non-standard bounces come from."""


@dataclass(frozen=True)
class BounceReport:
    """What a bounce says: who failed, how (a 5.x.x status is permanent), about which message."""

    permanent: bool
    recipients: tuple[str, ...]
    status: str | None
    original_message_id: str | None


@dataclass(frozen=True)
class ComplaintReport:
    """An abuse report (ARF): who complained, about which message."""

    recipients: tuple[str, ...]
    original_message_id: str | None
    feedback_type: str | None


def report_type(message: Message) -> str | None:
    """`delivery-status`, `feedback-report`, … for a multipart/report, else None."""
    if message.get_content_type() != "multipart/report":
        return None
    return str(message.get_param("report-type", "", header="content-type") or "").lower() or None


def looks_like_bounce(message: Message, sender: str | None) -> bool:
    """A DSN, or a message from a mailer daemon (whose bounce may not follow RFC 3464)."""
    if report_type(message) == "delivery-status":
        return True
    local = (sender or "").partition("@")[0].lower()
    return local in BOUNCE_SENDERS


def read_bounce(message: Message) -> BounceReport | None:
    """The bounce in a message (via flufl.bounce and the DSN's Status), or None if none."""
    temporary, permanent = all_failures(message)
    statuses = _statuses(message)
    recipients = sorted({_text(a).lower() for a in (*temporary, *permanent)})
    if not recipients and not statuses:
        return None
    status = _worst(statuses)
    hard = status.startswith("5") if status else bool(permanent)
    return BounceReport(hard, tuple(recipients), status, _original_message_id(message))


def read_complaint(message: Message) -> ComplaintReport:
    """The complainer and the original message of an ARF report."""
    fields = _report_fields(message, "message/feedback-report")
    recipients = [v for k, v in fields if k in ("original-rcpt-to", "removal-recipient")]
    original = _original_headers(message)
    if not recipients and original is not None:
        recipients = [a for _, a in getaddresses([str(original.get("To", ""))]) if a]
    feedback = next((v for k, v in fields if k == "feedback-type"), None)
    return ComplaintReport(
        tuple(sorted({_bare(r) for r in recipients if _bare(r)})),
        _original_message_id(message),
        feedback,
    )


def _statuses(message: Message) -> list[str]:
    return [
        match.group(0)
        for key, value in _report_fields(message, "message/delivery-status")
        if key == "status" and (match := _STATUS.search(value))
    ]


def _worst(statuses: list[str]) -> str | None:
    """A permanent status over a transient one over a success."""
    for klass in ("5", "4", "2"):
        if found := next((s for s in statuses if s.startswith(klass)), None):
            return found
    return None


def _report_fields(message: Message, content_type: str) -> list[tuple[str, str]]:
    """(lowercased name, value) of every field in every block of the report part."""
    fields: list[tuple[str, str]] = []
    for part in message.walk():
        if part.get_content_type() != content_type:
            continue
        for block in _blocks(part):
            fields.extend((str(k).lower(), str(v).strip()) for k, v in block.items())
    return fields


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    from email import message_from_string

    text = payload if isinstance(payload, str) else ""
    return [message_from_string(chunk) for chunk in re.split(r"\r?\n\s*\r?\n", text) if chunk]


def _original_headers(message: Message) -> Message | None:
    """The headers of the message a report is about (message/rfc822 or text/rfc822-headers)."""
    from email import message_from_string

    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and isinstance(payload := part.get_payload(), list):
            return payload[0] if payload and isinstance(payload[0], Message) else None
        if kind == "text/rfc822-headers":
            return message_from_string(_decoded(part))
    return None


def _original_message_id(message: Message) -> str | None:
    original = _original_headers(message)
    found = re.search(r"<[^<>\s]+>", str(original.get("Message-ID", ""))) if original else None
    return found.group(0) if found else None


def _decoded(part: Message) -> str:
    raw = part.get_payload(decode=True)
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(part.get_payload())


def _text(address: bytes | str) -> str:
    return address.decode("ascii", "replace") if isinstance(address, bytes) else address


def _bare(value: str) -> str:
    """`rfc822; dan@x` or `<dan@x>` → `dan@x`."""
    value = value.split(";", 1)[-1].strip().strip("<>").strip()
    return value.lower() if "@" in value else ""
