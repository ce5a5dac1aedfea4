"""One notion of "now", so tests and demos can move time (`COACHGRAPH_NOW`, `--now`)."""

from __future__ import annotations

from datetime import UTC, datetime

from coachgraph.errors import UserError


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant (a trailing Z is fine); naive values are taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"not an ISO-8601 instant: {text!r} (e.g. 2026-11-21T09:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def now_from(override: str | None) -> datetime:
    """The overridden instant when given, else the clock, in UTC."""
    return (parse_instant(override) if override else datetime.now(UTC)).astimezone(UTC)


def iso(instant: datetime) -> str:
    """The one text form of an instant in the database: UTC, seconds, `+00:00`."""
    return instant.astimezone(UTC).isoformat(timespec="seconds")
