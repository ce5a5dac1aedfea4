"""One approved touch as the MIME message that goes out: headers, Message-ID, opt-out line."""

from __future__ import annotations

import email.policy
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from coachgraph.mail.unsubscribe import (
    ONE_CLICK_BODY,
    OneClickSettings,
    one_click_url,
)
from nodes.email.offline_composer import UNSUBSCRIBE_LINE
from nodes.email.text_rules import has_opt_out_line

MESSAGE_ID_HEX_CHARS = 32
"""Hex characters of SHA-256(idempotency key) in a Message-ID's left part (128 bits)."""


# 7-bit clean bodies (quoted-printable when a line is non-ASCII or long) pass every SMTP
# server without 8BITMIME, and keep the maildir files plain ASCII.
_POLICY = email.policy.default.clone(cte_type="7bit")


@dataclass(frozen=True)
class OutgoingEmail:
    """One approved touch, exactly as it will be sent."""

    idempotency_key: str
    """The outbox key for this (thread, touch); the Message-ID is derived from it."""
    to: str
    """The recipient's bare address, e.g. `ana@example.com`."""
    sender_name: str
    """Display name in From (may be non-ASCII or empty)."""
    sender_email: str
    """The sender's bare address; its domain is the Message-ID's domain."""
    subject: str
    """One line: a CR or LF is refused as header injection."""
    body: str
    """Plain text; an unsubscribe line is appended when it has none."""
    sent_at: datetime
    """Timezone-aware instant for the Date header (simulated time in tests and demos)."""
    unsubscribe_url: str | None = None
    """The RFC 8058 one-click link (`https://…/u/TOKEN`); None: the mailto link only."""
    references: tuple[str, ...] = ()
    """Message-IDs of the earlier touches of its thread, oldest first: a follow-up replies
    to the last of them (`In-Reply-To`) and names them all (`References`)."""

    @classmethod
    def from_campaign(
        cls,
        campaign: Mapping[str, Any],
        key: str,
        draft: Mapping[str, Any],
        sent_at: datetime,
        links: OneClickSettings | None = None,
    ) -> OutgoingEmail:
        """The email a campaign's sender sends for one draft (`to`, `subject`, `body`).

        With `links` (the run's context) and `COACHGRAPH_PUBLIC_URL` set, it carries a
        one-click unsubscribe link for the contact and campaign the key names.

        Raises:
            ConfigError: the one-click settings cannot work.
        """
        return cls(
            idempotency_key=key,
            to=draft["to"],
            sender_name=campaign["sender_name"],
            sender_email=campaign["sender_email"],
            subject=draft["subject"],
            body=draft["body"],
            sent_at=sent_at,
            unsubscribe_url=one_click_url(links, key) if links is not None else None,
        )


def message_id_for(idempotency_key: str, sender_email: str) -> str:
    """The deterministic Message-ID, `<hex@sender-domain>`, for one outbox key.

    Raises:
        ValueError: `sender_email` is not one ASCII address with a domain.
    """
    domain = _parse_address(sender_email, "sender_email").domain.lower()
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
    return f"<{digest[:MESSAGE_ID_HEX_CHARS]}@{domain}>"


def ensure_unsubscribe_line(body: str) -> str:
    """Return `body` as is when it has an opt-out line, else with the standard line appended.

    "Has an opt-out line" is the reviewer's test (`has_opt_out_line`), so a draft that
    passed review is never given a second line, and one that merely mentions the word
    still gets one.
    """
    if has_opt_out_line(body):
        return body
    return f"{body.rstrip()}\n\n{UNSUBSCRIBE_LINE}"


def build_message(email: OutgoingEmail) -> EmailMessage:
    """Build the MIME message; the same `email` always gives byte-identical `as_bytes()`.

    Raises:
        ValueError: the subject holds a line break, the body is empty, an address is not
            one ASCII address, or `sent_at` is naive.
    """
    _check_sendable(email)
    sender = _parse_address(email.sender_email, "sender_email", email.sender_name)
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = _parse_address(email.to, "to")
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.sent_at)
    message["Message-ID"] = message_id_for(email.idempotency_key, email.sender_email)
    if email.references:
        message["In-Reply-To"] = email.references[-1]
        message["References"] = " ".join(email.references)
    _add_list_unsubscribe(message, email, sender)
    message.set_content(ensure_unsubscribe_line(email.body), subtype="plain", charset="utf-8")
    return message


def _add_list_unsubscribe(message: EmailMessage, email: OutgoingEmail, sender: Address) -> None:
    """The mailto link always; the one-click link first, and its POST header, when given."""
    mailto = f"<mailto:{sender.addr_spec}?subject=unsubscribe>"
    if email.unsubscribe_url is None:
        message["List-Unsubscribe"] = mailto
        return
    if not email.unsubscribe_url.startswith(("https://", "http://")) or re.search(
        r"[\s<>,]", email.unsubscribe_url
    ):
        raise ValueError(f"unsubscribe_url {email.unsubscribe_url!r} is not one http(s) URL")
    message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>, {mailto}"
    message["List-Unsubscribe-Post"] = ONE_CLICK_BODY


def _check_sendable(email: OutgoingEmail) -> None:
    if "\r" in email.subject or "\n" in email.subject:
        raise ValueError(f"subject holds a line break (header injection): {email.subject!r}")
    if not email.body.strip():
        raise ValueError(f"email {email.idempotency_key!r} has an empty body; nothing to send")
    if email.sent_at.utcoffset() is None:
        raise ValueError(f"sent_at must be timezone-aware, got {email.sent_at.isoformat()}")


def _parse_address(value: str, field: str, display_name: str = "") -> Address:
    """Parse one bare ASCII address; anything else (lists, CR/LF, `<…>`) is refused."""
    if not value.isascii():
        raise ValueError(f"{field} {value!r} is not ASCII; SMTPUTF8 addresses are not supported")
    local, _, domain = value.rpartition("@")
    if not local or not domain:
        raise ValueError(f"{field} {value!r} is not an email address like name@example.com")
    try:
        return Address(display_name=display_name, addr_spec=value)
    except (ValueError, IndexError, HeaderParseError) as exc:  # the parser raises all three
        raise ValueError(f"{field} {value!r} is not one email address ({exc})") from None
