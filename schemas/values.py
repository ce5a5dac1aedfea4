"""Plain values every layer shares: instants (one clock, ISO text) and email addresses."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from schemas.errors import UserError


class BadInstantError(UserError, ValueError):
    """Text that is not an ISO-8601 instant (a ValueError too, so validators report it)."""


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant (a trailing Z is fine); naive values are taken as UTC.

    Raises:
        BadInstantError: the text is not an ISO-8601 instant.
    """
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInstantError(
            f"not an ISO-8601 instant: {text!r} (e.g. 2026-11-21T09:00:00Z)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def now_from(override: str | None) -> datetime:
    """The overridden instant when given, else the clock, in UTC."""
    return (parse_instant(override) if override else datetime.now(UTC)).astimezone(UTC)


def iso(instant: datetime) -> str:
    """The one text form of an instant in the database: UTC, seconds, `+00:00`."""
    return instant.astimezone(UTC).isoformat(timespec="seconds")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str) -> str:
    """Strip surrounding whitespace and lowercase; the form every lookup and hash uses."""
    return raw.strip().lower()


def is_valid_email(raw: str) -> bool:
    """True when the normalised address looks like local@domain.tld, in ASCII.

    Internationalised addresses (SMTPUTF8) are not supported by the transports, so they are
    refused where they enter (import, campaign create) rather than failing at send time.
    """
    address = normalize_email(raw)
    return address.isascii() and bool(_EMAIL.match(address))


def email_sha256(raw: str) -> str:
    """Hex SHA-256 of the normalised address, as stored in the suppression list."""
    return hashlib.sha256(normalize_email(raw).encode("utf-8")).hexdigest()


def without_tag(raw: str) -> str:
    """The normalised address with any `+tag` removed from its local part."""
    local, at, domain = normalize_email(raw).rpartition("@")
    return f"{local.split('+', 1)[0] or local}{at}{domain}" if at else normalize_email(raw)


def suppression_hashes(raw: str) -> list[str]:
    """The hashes an address is looked up by: its normalised form, and that without `+tag`."""
    return list(dict.fromkeys([email_sha256(raw), email_sha256(without_tag(raw))]))


def contact_id_for(email: str) -> str:
    """A stable contact id derived from the address, for rows imported without an id."""
    return "c_" + email_sha256(email)[:12]


# Reply and forward prefixes of the common mail clients' languages: Re, AW, Antw, SV, VS,
# WG, Fw, TR, RV, R, Rif, Res, Réf, Odp; "RE :" (French spacing) and "Re[2]:" too.
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|antw(?:ort)?|sv|vs|wg|fwd?|tr|rv|r|rif|res|r[ée]f\.?|odp)"
    r"\s*(?:\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)


def without_reply_prefix(subject: str) -> str:
    """The subject without any reply or forward prefixes (`Re:`, `AW:`, `RV:`, `Fwd:`…)."""
    return _REPLY_PREFIX.sub("", subject).strip()


def reply_subject(subject: str) -> str:
    """`Re: ` and the conversation's subject, never `Re: Re: …`."""
    return "Re: " + without_reply_prefix(subject)
