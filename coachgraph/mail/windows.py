"""Send windows (SPEC §11): the days and hours a contact may receive mail, in their timezone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from schemas.errors import UserError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 400
"""How far ahead an opening is looked for (a window with no day in it has none)."""
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class SendWindow:
    """When a campaign's mail may arrive, in the recipient's local time."""

    days: frozenset[int] = frozenset(range(5))
    """Weekdays, 0 = Monday (default Monday to Friday)."""
    start: time = time(9, 0)
    end: time = time(17, 0)
    timezone: str = "UTC"
    """The campaign's timezone, for contacts with none of their own."""
    holidays: str | None = None
    """A country code (ISO 3166) whose public holidays are skipped, or None."""

    @classmethod
    def from_settings(
        cls, settings: dict[str, Any], days: str = "mon-fri", hours: str = "09:00-17:00"
    ) -> SendWindow:
        """The window a campaign's settings describe; `days` and `hours` where they are silent.

        Raises:
            UserError: a day, hours or timezone that cannot be read.
        """
        window = settings.get("window") or {}
        start, end = parse_hours(window.get("hours") or hours)
        return cls(
            days=parse_days(window.get("days") or days),
            start=start,
            end=end,
            timezone=zone(window.get("timezone") or "UTC").key,
            holidays=window.get("holidays"),
        )

    def opening(self, now: datetime, contact_timezone: str | None) -> datetime | None:
        """`now` when it is inside the window for this contact, else the next opening (UTC).

        None when the window never opens (no day in it within a year).
        """
        own = contact_timezone if contact_timezone and _known_zone(contact_timezone) else None
        tz = zone(own or self.timezone)
        local = now.astimezone(tz)
        for offset in range(SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            if not self._sends_on(day):
                continue
            opens, closes = _at(day, self.start, tz), self._closes(day, tz)
            if opens >= closes:  # the clocks skipped the whole window that day
                continue
            if now < opens:
                return opens
            if now < closes:
                return now
        return None

    def _closes(self, day: date, tz: ZoneInfo) -> datetime:
        """When the window shuts on `day`: its end, or midnight for a window to 24:00."""
        if self.end == time.max:
            return _at(day + timedelta(days=1), time(0), tz)
        return _at(day, self.end, tz)

    def _sends_on(self, day: date) -> bool:
        return day.weekday() in self.days and not _is_holiday(self.holidays, day)


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`at` o'clock on `day` in `tz`, as UTC, with that day's own offset (DST included).

    A time the clocks skip falls just after the jump; one they repeat is its first pass.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def parse_days(text: str) -> frozenset[int]:
    """`mon-fri`, `mon,wed,fri` or `sat-sun` as weekday numbers.

    Raises:
        UserError: a day name is not one of mon…sun.
    """
    days: set[int] = set()
    for part in str(text).lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        a, b = _day(first), _day(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)


def _day(name: str) -> int:
    short = name[:3]
    if short not in DAY_NAMES or name not in (short, _FULL_NAMES[DAY_NAMES.index(short)]):
        raise UserError(f"send window day {name!r}: use mon, tue, wed, thu, fri, sat or sun")
    return DAY_NAMES.index(short)


_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_hours(text: str) -> tuple[time, time]:
    """`09:00-17:00` as (start, end).

    Raises:
        UserError: not HH:MM-HH:MM, or the end is not after the start.
    """
    match = _HOURS.match(str(text).replace(" ", ""))
    if not match:
        raise UserError(f"send window hours {text!r}: use HH:MM-HH:MM, e.g. 09:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise UserError(f"send window hours {text!r}: not a time of day")
    start, end = time(h1, m1), time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise UserError(f"send window hours {text!r}: the end must be after the start")
    return start, end


def zone(name: str) -> ZoneInfo:
    """An IANA timezone.

    Raises:
        UserError: not a timezone name this machine knows.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"timezone {name!r} is not an IANA name like Europe/Berlin") from None


def _known_zone(name: str | None) -> bool:
    if not name:
        return False
    try:
        zone(name)
    except UserError:
        return False
    return True


def check_country(code: str) -> str:
    """A country code the holidays library knows, upper-cased.

    Raises:
        UserError: an unknown country code.
    """
    upper = code.strip().upper()
    if upper not in holidays.list_supported_countries():
        raise UserError(f"--holidays {code!r}: not a country code the holidays library knows")
    return upper


def _is_holiday(country: str | None, day: date) -> bool:
    return country is not None and day in _calendar(country, day.year)


@lru_cache(maxsize=64)
def _calendar(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)
