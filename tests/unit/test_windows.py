"""Send windows (SPEC §11): the next opening in the contact's own timezone.

Mon–Fri 09:00–17:00 by default, in the contact's timezone (the campaign's when the contact
has none or an unknown one), optionally skipping a country's public holidays, and right
across daylight-saving changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from coachgraph.mail.windows import (
    SendWindow,
    check_country,
    parse_days,
    parse_hours,
    zone,
)
from coachgraph.runner.campaigns import campaign_settings
from schemas.errors import UserError

DEFAULT = SendWindow()
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, tz: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


# -- the default window -------------------------------------------------------------------


def test_default_window_is_weekdays_nine_to_five_utc() -> None:
    assert DEFAULT.days == frozenset(range(5))
    assert (DEFAULT.start, DEFAULT.end) == (time(9), time(17))
    assert DEFAULT.timezone == "UTC"
    assert DEFAULT.holidays is None
    assert SendWindow.from_settings({}) == DEFAULT


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Wednesday 2026-11-04 in New York (EST, UTC-5)
        ("2026-11-04T09:00:00", "2026-11-04T09:00:00"),  # the window's first instant: now
        ("2026-11-04T12:34:56", "2026-11-04T12:34:56"),  # inside: now
        ("2026-11-04T16:59:59", "2026-11-04T16:59:59"),  # the last second inside: now
        ("2026-11-04T06:15:00", "2026-11-04T09:00:00"),  # before: today's opening
        ("2026-11-04T00:00:00", "2026-11-04T09:00:00"),
        ("2026-11-04T17:00:00", "2026-11-05T09:00:00"),  # the end is excluded: tomorrow's
        ("2026-11-04T22:00:00", "2026-11-05T09:00:00"),  # after: tomorrow's opening
        ("2026-11-06T17:30:00", "2026-11-09T09:00:00"),  # Friday evening: Monday
        ("2026-11-07T11:00:00", "2026-11-09T09:00:00"),  # Saturday: Monday
        ("2026-11-08T23:59:00", "2026-11-09T09:00:00"),  # Sunday night: Monday
    ],
)
def test_opening_inside_before_after_and_on_weekends(now: str, expected: str) -> None:
    at = local(now, "America/New_York")
    opening = DEFAULT.opening(at.astimezone(UTC), "America/New_York")
    assert opening == local(expected, "America/New_York")
    assert opening is not None and opening.utcoffset() == timedelta(0)  # handed back as UTC


def test_opening_is_now_itself_when_inside() -> None:
    now = utc("2026-11-04T15:00:00")  # 10:00 in New York
    assert DEFAULT.opening(now, "America/New_York") is now


def test_the_contacts_timezone_decides_not_utc() -> None:
    now = utc("2026-11-04T07:00:00")  # Wednesday 07:00 UTC
    # 16:00 in Singapore (inside), 08:00 in Berlin (before), 02:00 in New York (before),
    # 18:00 in Sydney (after: Thursday 09:00 there, which is Wednesday 22:00 UTC).
    assert DEFAULT.opening(now, "Asia/Singapore") == now
    assert DEFAULT.opening(now, "Europe/Berlin") == utc("2026-11-04T08:00:00")
    assert DEFAULT.opening(now, "America/New_York") == utc("2026-11-04T14:00:00")
    assert DEFAULT.opening(now, "Australia/Sydney") == utc("2026-11-04T22:00:00")


def test_a_local_monday_may_be_a_utc_sunday() -> None:
    now = utc("2026-11-08T12:00:00")  # Sunday noon UTC; Sunday 23:00 in Sydney (AEDT)
    opening = DEFAULT.opening(now, "Australia/Sydney")
    assert opening == utc("2026-11-08T22:00:00")  # Monday 09:00 in Sydney
    assert opening is not None
    assert opening.astimezone(ZoneInfo("Australia/Sydney")).weekday() == 0


def test_a_contact_without_a_timezone_uses_the_campaigns() -> None:
    window = SendWindow.from_settings({"window": {"timezone": "Asia/Tokyo"}})
    now = utc("2026-11-04T07:00:00")  # 16:00 in Tokyo: inside; 07:00 UTC: before
    assert window.opening(now, None) == now
    assert window.opening(now, "") == now
    assert window.opening(now, "UTC") == utc("2026-11-04T09:00:00")  # its own wins
    assert SendWindow().opening(now, None) == utc("2026-11-04T09:00:00")  # default: UTC


@pytest.mark.parametrize(
    "unknown", ["Mars/Olympus_Mons", "not a zone", "Europe/Atlantis", "../etc"]
)
def test_an_unknown_contact_timezone_falls_back_to_the_campaigns(unknown: str) -> None:
    window = SendWindow.from_settings({"window": {"timezone": "Europe/Berlin"}})
    now = utc("2026-11-04T07:30:00")  # 08:30 in Berlin: before; 07:30 UTC: before
    assert window.opening(now, unknown) == utc("2026-11-04T08:00:00")  # Berlin's 09:00


# -- holidays -----------------------------------------------------------------------------


def test_public_holidays_of_the_country_are_skipped() -> None:
    # Thursday 2026-12-24, 18:00 in Berlin: Friday the 25th is Christmas Day in Germany.
    now = local("2026-12-24T18:00:00", "Europe/Berlin").astimezone(UTC)
    plain = SendWindow.from_settings({"window": {"timezone": "Europe/Berlin"}})
    german = SendWindow.from_settings({"window": {"timezone": "Europe/Berlin", "holidays": "DE"}})
    assert plain.opening(now, None) == local("2026-12-25T09:00:00", "Europe/Berlin")
    assert german.opening(now, None) == local("2026-12-28T09:00:00", "Europe/Berlin")


def test_both_christmas_days_are_skipped_even_on_a_seven_day_window() -> None:
    every_day = {"days": "mon-sun", "timezone": "Europe/Berlin", "holidays": "DE"}
    window = SendWindow.from_settings({"window": every_day})
    now = local("2026-12-24T17:30:00", "Europe/Berlin").astimezone(UTC)
    assert window.opening(now, None) == local("2026-12-27T09:00:00", "Europe/Berlin")
    inside_holiday = local("2026-12-26T11:00:00", "Europe/Berlin").astimezone(UTC)
    assert window.opening(inside_holiday, None) == local("2026-12-27T09:00:00", "Europe/Berlin")


def test_holidays_are_the_countrys_not_the_contacts_timezone() -> None:
    # 2026-11-26 is Thanksgiving in the US, an ordinary Thursday in Germany.
    us = SendWindow(holidays="US")
    de = SendWindow(holidays="DE")
    now = local("2026-11-26T10:00:00", "America/New_York").astimezone(UTC)
    assert us.opening(now, "America/New_York") == local("2026-11-27T09:00:00", "America/New_York")
    assert de.opening(now, "America/New_York") == now


def test_a_window_with_no_day_never_opens() -> None:
    assert SendWindow(days=frozenset()).opening(utc("2026-12-25T10:00:00"), None) is None


# -- daylight saving ----------------------------------------------------------------------


def test_berlin_spring_forward_opens_at_nine_local_on_the_monday_after() -> None:
    # Clocks go forward on Sunday 2027-03-28 (CET +01:00 -> CEST +02:00).
    friday_evening = utc("2027-03-26T16:30:00")  # 17:30 CET
    opening = DEFAULT.opening(friday_evening, "Europe/Berlin")
    assert opening == utc("2027-03-29T07:00:00")
    assert opening is not None
    there = opening.astimezone(BERLIN)
    assert (there.weekday(), there.time()) == (0, time(9))
    assert there.utcoffset() == timedelta(hours=2)
    friday = DEFAULT.opening(utc("2027-03-26T05:00:00"), "Europe/Berlin")
    assert friday == utc("2027-03-26T08:00:00")  # the Friday before: 09:00 CET
    assert friday is not None and friday.astimezone(BERLIN).utcoffset() == timedelta(hours=1)


def test_new_york_fall_back_opens_at_nine_local_on_the_monday_after() -> None:
    # Clocks go back on Sunday 2026-11-01 (EDT -04:00 -> EST -05:00).
    friday_evening = utc("2026-10-30T21:30:00")  # 17:30 EDT
    opening = DEFAULT.opening(friday_evening, "America/New_York")
    assert opening == utc("2026-11-02T14:00:00")
    assert opening is not None
    there = opening.astimezone(NEW_YORK)
    assert (there.weekday(), there.time()) == (0, time(9))
    assert there.utcoffset() == timedelta(hours=-5)
    friday = DEFAULT.opening(utc("2026-10-30T11:00:00"), "America/New_York")
    assert friday == utc("2026-10-30T13:00:00")  # the Friday before: 09:00 EDT
    assert friday is not None and friday.astimezone(NEW_YORK).utcoffset() == timedelta(hours=-4)


def test_the_window_closes_at_five_local_across_the_change() -> None:
    # Monday 2026-11-02 16:59 EST is 21:59 UTC: still inside; 17:00 EST is not.
    assert DEFAULT.opening(utc("2026-11-02T21:59:00"), "America/New_York") == utc(
        "2026-11-02T21:59:00"
    )
    assert DEFAULT.opening(utc("2026-11-02T22:00:00"), "America/New_York") == utc(
        "2026-11-03T14:00:00"
    )
    # The Friday before, EDT: 21:30 UTC is 17:30, already closed.
    assert DEFAULT.opening(utc("2026-10-30T20:59:00"), "America/New_York") == utc(
        "2026-10-30T20:59:00"
    )


def test_a_window_on_the_changeover_sunday_itself() -> None:
    sundays = SendWindow(days=frozenset({6}), start=time(1, 30), end=time(4, 0))
    # 2026-11-01 01:30 happens twice in New York; the window opens at its first pass (EDT).
    opening = sundays.opening(utc("2026-10-31T12:00:00"), "America/New_York")
    assert opening == utc("2026-11-01T05:30:00")
    # 2027-03-28 02:30 does not exist in Berlin; the opening falls just after the jump.
    skipped = SendWindow(days=frozenset({6}), start=time(2, 30), end=time(5, 0))
    opening = skipped.opening(utc("2027-03-27T12:00:00"), "Europe/Berlin")
    assert opening is not None
    there = opening.astimezone(BERLIN)
    assert there.date().isoformat() == "2027-03-28"
    assert time(2, 30) <= there.time() < time(5, 0)


# -- properties ---------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Phoenix",
    "America/Sao_Paulo",
    "America/Santiago",
    "America/St_Johns",
    "America/Havana",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Tehran",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Australia/Adelaide",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Africa/Casablanca",
]
YEAR_START = datetime(2026, 6, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=365 * 86_400 * 1_000_000).map(
    lambda us: YEAR_START + timedelta(microseconds=us)
)
WINDOWS = [
    SendWindow(),
    SendWindow(days=frozenset({0, 2, 4}), start=time(8, 30), end=time(12, 0)),
    SendWindow(days=frozenset({5, 6}), start=time(0, 0), end=time(1, 0)),
    SendWindow(days=frozenset(range(7)), start=time(2, 0), end=time(3, 0)),
    SendWindow(days=frozenset({6}), start=time(22, 15), end=time(23, 45)),
    SendWindow(days=frozenset(range(5)), holidays="DE"),
    SendWindow(days=frozenset(range(5)), holidays="US"),
]


def inside(window: SendWindow, at: datetime, tz: ZoneInfo) -> bool:
    here = at.astimezone(tz)
    if here.weekday() not in window.days or not window.start <= here.time() < window.end:
        return False
    return window.holidays is None or here.date() not in holidays_of(window.holidays, here.year)


def holidays_of(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


@given(
    now=instants,
    window=st.sampled_from(WINDOWS),
    contact=st.sampled_from([*ZONES, None, "Nowhere/Unknown"]),
    campaign=st.sampled_from(ZONES),
)
@example(  # New York's fall-back Monday
    now=utc("2026-11-02T04:00:00"), window=DEFAULT, contact="America/New_York", campaign="UTC"
)
@example(  # Berlin's spring-forward Monday
    now=utc("2027-03-29T01:00:00"), window=DEFAULT, contact="Europe/Berlin", campaign="UTC"
)
@example(  # Lord Howe moves by half an hour
    now=utc("2026-10-03T20:00:00"), window=DEFAULT, contact="Australia/Lord_Howe", campaign="UTC"
)
def test_opening_is_never_early_is_inside_and_is_now_when_open(
    now: datetime, window: SendWindow, contact: str | None, campaign: str
) -> None:
    window = SendWindow(window.days, window.start, window.end, campaign, window.holidays)
    tz = ZoneInfo(contact if contact in ZONES else campaign)
    opening = window.opening(now, contact)
    assert opening is not None
    assert opening >= now
    assert inside(window, opening, tz), opening.astimezone(tz)
    if inside(window, now, tz):
        assert opening == now
    else:  # the very first instant of a later opening: a minute earlier was still closed
        assert opening > now
        assert not inside(window, max(now, opening - timedelta(minutes=1)), tz)
    assert opening - now < timedelta(days=8 + 4)  # no more than a week and a long weekend


@pytest.mark.parametrize(
    ("now", "window", "contact", "expected"),
    [
        # 02:00-03:00 does not exist in Berlin on 2027-03-28: the next is Monday's 02:00 CEST.
        ("2027-03-27T12:00:00", WINDOWS[3], "Europe/Berlin", "2027-03-29T00:00:00"),
        # Havana springs forward at midnight: Sunday 2027-03-14 00:00-01:00 does not exist,
        # so the next Saturday's 00:00 (CDT) is the opening.
        ("2027-03-13T12:00:00", WINDOWS[2], "America/Havana", "2027-03-20T04:00:00"),
    ],
)
def test_a_window_the_clocks_skip_entirely_is_not_an_opening(
    now: str, window: SendWindow, contact: str, expected: str
) -> None:
    """A day whose whole window falls in the DST gap has no opening; its end is not one."""
    opening = window.opening(utc(now), contact)
    assert opening is not None
    assert inside(window, opening, ZoneInfo(contact)), opening.astimezone(ZoneInfo(contact))
    assert opening == utc(expected)


@given(now=instants, contact=st.sampled_from(ZONES))
def test_an_always_open_window_is_always_open(now: datetime, contact: str) -> None:
    always = SendWindow.from_settings({}, days="mon-sun", hours="00:00-24:00")
    assert always.opening(now, contact) == now


@pytest.mark.parametrize("second", [time(23, 59, 59, 500_000), time(23, 59, 59, 999_999)])
def test_an_always_open_window_is_open_in_the_last_second_of_the_day(second: time) -> None:
    """`00:00-24:00` (the tests' default, ALWAYS_OPEN) means the whole day, to the end."""
    always = SendWindow.from_settings({}, days="mon-sun", hours="00:00-24:00")
    now = datetime.combine(datetime(2026, 11, 4).date(), second, tzinfo=UTC)
    assert always.opening(now, "UTC") == now


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("Mon-Fri", {0, 1, 2, 3, 4}),
        ("monday-friday", {0, 1, 2, 3, 4}),
        ("mon,wed, fri", {0, 2, 4}),
        ("sat-sun", {5, 6}),
        ("fri-mon", {4, 5, 6, 0}),
        ("mon-sun", set(range(7))),
        ("tue", {1}),
    ],
)
def test_parse_days(text: str, days: set[int]) -> None:
    assert parse_days(text) == frozenset(days)


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("09:00-17:00", (time(9), time(17))),
        ("9:30-12:00", (time(9, 30), time(12))),
        (" 08:00 - 18:30 ", (time(8), time(18, 30))),
        ("00:00-24:00", (time(0), None)),
    ],
)
def test_parse_hours(text: str, hours: tuple[time, time | None]) -> None:
    start, end = parse_hours(text)
    assert start == hours[0]
    if hours[1] is not None:
        assert end == hours[1]
    else:
        assert end >= time(23, 59, 59)


def one_line(exc: pytest.ExceptionInfo[UserError]) -> str:
    message = str(exc.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("text", ["", "xyz", "mon-xyz", "mo", "lundi", "1-5", "mon--fri"])
def test_bad_days_are_one_line_user_errors(text: str) -> None:
    with pytest.raises(UserError) as exc:
        parse_days(text)
    assert "send window day" in one_line(exc)


@pytest.mark.parametrize("text", ["mon;fri", "monkey", "friends", "sunshine-mon"])
def test_words_that_merely_start_like_a_day_are_refused(text: str) -> None:
    """`mon;fri` is a typo, not "Mondays only": it must be refused, not half-read."""
    with pytest.raises(UserError) as exc:
        parse_days(text)
    assert "send window day" in one_line(exc)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "9-17",
        "09:00",
        "nine to five",
        "17:00-09:00",
        "09:00-09:00",
        "25:00-26:00",
        "09:60-10:00",
        "09:00-24:30",
        "09:00-17:00-18:00",
    ],
)
def test_bad_hours_are_one_line_user_errors(text: str) -> None:
    with pytest.raises(UserError) as exc:
        parse_hours(text)
    assert "send window hours" in one_line(exc)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "Europe/Atlantis", "not a zone", "../etc"])
def test_bad_timezones_are_one_line_user_errors(name: str) -> None:
    with pytest.raises(UserError) as exc:
        zone(name)
    assert "timezone" in one_line(exc)
    with pytest.raises(UserError) as exc:
        SendWindow.from_settings({"window": {"timezone": name}})
    assert "timezone" in one_line(exc)


@pytest.mark.parametrize("code", ["XX", "Germany", "D", "ZZZ", "de-by"])
def test_bad_holiday_codes_are_one_line_user_errors(code: str) -> None:
    with pytest.raises(UserError) as exc:
        check_country(code)
    assert "holidays" in one_line(exc)
    with pytest.raises(UserError) as exc:
        campaign_settings({"window": {"holidays": code}})
    assert "holidays" in one_line(exc)


def test_holiday_codes_are_upper_cased() -> None:
    assert check_country(" de ") == "DE"
    assert campaign_settings({"window": {"holidays": "us"}})["window"]["holidays"] == "US"


@pytest.mark.parametrize(
    ("settings", "word"),
    [
        ({"window": {"days": "funday"}}, "day"),
        ({"window": {"hours": "9 to 5"}}, "hours"),
        ({"window": {"timezone": "Nowhere/Town"}}, "timezone"),
        ({"daily_cap": 0}, "daily-cap"),
        ({"daily_cap": "five"}, "daily-cap"),
        ({"min_gap_s": -1}, "min-gap-s"),
    ],
)
def test_bad_campaign_settings_are_one_line_user_errors(
    settings: dict[str, Any], word: str
) -> None:
    with pytest.raises(UserError) as exc:
        campaign_settings(settings)
    assert word in one_line(exc)


def test_campaign_settings_override_the_environments_days_and_hours() -> None:
    settings = {"window": {"days": "sat-sun", "hours": "10:00-11:00"}}
    window = SendWindow.from_settings(settings, days="mon-sun", hours="00:00-24:00")
    assert (window.days, window.start, window.end) == (frozenset({5, 6}), time(10), time(11))
    silent = SendWindow.from_settings({}, days="mon-sun", hours="00:00-24:00")
    assert silent.days == frozenset(range(7))
