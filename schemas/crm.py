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
    field_validator,
    model_validator,
)

from coachgraph.emails import is_valid_email, normalize_email

_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f", ""}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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
OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]


def _email(value: str) -> str:
    if not is_valid_email(value):
        raise ValueError(f"not an email address: {value!r}")
    return normalize_email(value)


def _domain(value: str) -> str:
    domain = value.strip().lower()
    if not domain or " " in domain or "." not in domain:
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

    id: OptStr = None
    email: Email
    first_name: OptStr = None
    last_name: OptStr = None
    title: OptStr = None
    company_domain: OptDomain = None
    timezone: OptStr = None
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
    fact: str = Field(min_length=1)
    confidence: float = Field(ge=0.0, le=1.0)
    source: OptStr = None


class SuppressionRow(_Row):
    """One suppressed address, given as the email or its SHA-256."""

    email: OptStr = None
    email_sha256: OptStr = None
    reason: OptStr = None

    @model_validator(mode="after")
    def _one_of(self) -> SuppressionRow:
        if self.email:
            self.email = _email(self.email)
        if self.email_sha256:
            self.email_sha256 = self.email_sha256.lower()
            if not _SHA256.match(self.email_sha256):
                raise ValueError("email_sha256 must be 64 hex characters")
        if not self.email and not self.email_sha256:
            raise ValueError("needs email or email_sha256")
        return self


class RetentionRow(_Row):
    """A company the retention team owns: outreach holds off it."""

    company_domain: Domain
    reason: OptStr = None


class HistoryRow(_Row):
    """One message in or out, for the history a draft reads."""

    contact_id: str
    direction: Literal["in", "out"]
    subject: OptStr = None
    body: str = ""
    at: str

    @field_validator("at")
    @classmethod
    def _iso(cls, value: str) -> str:
        from datetime import datetime

        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from None
        return value


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
