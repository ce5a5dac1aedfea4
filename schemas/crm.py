"""Import rows (validated one by one) and the CRM records nodes read."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypedDict

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from schemas.values import is_valid_email, iso, normalize_email, parse_instant


def utc_iso(value: str) -> str:
    """An ISO-8601 instant (naive or date-only taken as UTC) as `YYYY-MM-DDTHH:MM:SS+00:00`."""
    return iso(parse_instant(value))


_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f", ""}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]")


def _printable(value: str | None) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError("contains a control character")
    return value


def _one_line(value: str | None) -> str | None:
    _printable(value)
    if value is not None and _LINE_BREAK.search(value):
        raise ValueError("contains a line break")
    return value


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true/false, yes/no, 1/0 or empty, got {value!r}")


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


Flag = Annotated[bool, BeforeValidator(_flag)]


# Optional one-line strings: blank → None, bounded, no control characters or line breaks.
OptStr = Annotated[
    Annotated[str, StringConstraints(max_length=500)] | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(_one_line),
]
OptId = Annotated[
    Annotated[str, StringConstraints(max_length=64)] | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(_one_line),
]


def _email(value: str) -> str:
    if len(value) > 320 or _CONTROL.search(value) or not is_valid_email(value):
        raise ValueError(f"not an (ASCII) email address: {value!r}")
    return normalize_email(value)


def _domain(value: str) -> str:
    domain = value.strip().lower()
    if (
        not domain
        or len(domain) > 255
        or _CONTROL.search(domain)
        or " " in domain
        or "." not in domain
    ):
        raise ValueError(f"not a domain: {value!r}")
    return domain


def _optional_domain(value: str | None) -> str | None:
    return _domain(value) if value else None


Email = Annotated[str, AfterValidator(_email)]
Domain = Annotated[str, AfterValidator(_domain)]
OptDomain = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_optional_domain)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactRow(_Row):
    """One contact; `id` is optional and derived from the email when missing."""

    id: OptId = None
    email: Email
    first_name: OptStr = None
    last_name: OptStr = None
    title: OptStr = None
    company_domain: OptDomain = None
    timezone: OptId = None
    do_not_contact: Flag = False
    bounced: Flag = False
    unsubscribed: Flag = False
    replied: Flag = False


class CompanyRow(_Row):
    """One company, keyed by its domain."""

    domain: Domain
    name: OptStr = None
    industry: OptStr = None


class FactRow(_Row):
    """One fact about a company, with how sure we are and where it came from."""

    company_domain: Domain
    fact: Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_one_line)]
    confidence: float = Field(ge=0.0, le=1.0)
    source: OptStr = None


class SuppressionRow(_Row):
    """One suppressed address, given as the email or its SHA-256."""

    email: OptStr = None
    email_sha256: OptId = None
    reason: OptStr = None

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str | None) -> str | None:
        """Normalise the address; a bad one is an error on `email` itself."""
        return _email(value) if value else value

    @field_validator("email_sha256")
    @classmethod
    def _valid_sha256(cls, value: str | None) -> str | None:
        """Lower-case the hash; it must be 64 hex characters."""
        if value is None:
            return None
        if not _SHA256.match(value.lower()):
            raise ValueError("email_sha256 must be 64 hex characters")
        return value.lower()

    @model_validator(mode="after")
    def _one_of(self) -> SuppressionRow:
        if not self.email and not self.email_sha256:
            raise ValueError("needs email or email_sha256")
        return self


class RetentionRow(_Row):
    """A company the retention team owns: outreach holds off it."""

    company_domain: Domain
    reason: OptStr = None


class HistoryRow(_Row):
    """One message in or out, for the history a draft reads."""

    contact_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    direction: Literal["in", "out"]
    subject: OptStr = None
    body: Annotated[str, StringConstraints(max_length=20_000), AfterValidator(_printable)] = ""
    at: str

    @field_validator("at")
    @classmethod
    def _utc_iso(cls, value: str) -> str:
        """Store instants as UTC ISO strings, so they sort and subtract correctly."""
        return utc_iso(value)


MAX_FACTS = 8
"""Company facts a draft may draw on: the most confident first (SPEC §6)."""
OPT_OUT_FLAG = {"unsubscribed": "unsubscribed", "bounced": "bounced", "complaint": "unsubscribed"}
"""Suppression reasons an opt-out event writes, and the contact flag each one acts as."""
OPT_OUT_EVENTS = ("(bounce)", "(unsubscribe)")
"""Subjects of the history rows `coachgraph reply --bounced/--unsubscribed` records."""


class ContactRecord(TypedDict):
    """A contact as nodes see it (plain JSON)."""

    id: str
    email: str
    first_name: str | None
    last_name: str | None
    title: str | None
    company_domain: str | None
    timezone: str | None
    do_not_contact: bool
    bounced: bool
    unsubscribed: bool
    replied: bool


class CompanyRecord(TypedDict):
    """A company as nodes see it."""

    domain: str
    name: str | None
    industry: str | None


class FactRecord(TypedDict):
    """A company fact as nodes see it."""

    fact: str
    confidence: float
    source: str | None


class MessageRecord(TypedDict):
    """One history message as nodes see it."""

    direction: Literal["in", "out"]
    subject: str | None
    body: str
    at: str
