"""Send windows, caps and pacing end to end (SPEC §11), over SQLite and Postgres.

Campaigns with explicit sending settings (the test suite's default window is always open)
run the real campaign graph under simulated time: hourly ticks, a person accepting every
draft, the demo CRM's contacts spread from Los Angeles to Sydney. The file transport is the
witness of what went out: each `send` call it receives is counted per Message-ID, and its
maildir is read back at the end.
"""

from __future__ import annotations

import email
import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from coachgraph.mail.outbox import idempotency_key
from coachgraph.mail.transport import FileTransport
from coachgraph.runner.approvals import decide, pending_approvals
from coachgraph.runner.campaigns import campaign_runtime, create_campaign, enroll
from coachgraph.runner.supervision import release
from coachgraph.runner.threads import record_inbound
from coachgraph.runner.tick import tick
from coachgraph.store.crm import CrmStore, enrollments, mailboxes
from schemas.approval import HumanResponse
from schemas.context import Context
from schemas.values import parse_instant
from tests.integration.campaign_helpers import Campaign, thread
from tests.integration.conftest import Run, one_line_error
from tests.integration.supervision_helpers import as_json, enrollment, outbox_rows

pytestmark = pytest.mark.integration

Cli = Callable[..., Run]
ACCEPT = HumanResponse(type="accept", args=None)
SENDER = "sam@seller.example"
CAMPAIGN = "cmpw"
HOUR = timedelta(hours=1)
OPEN_DAYS, OPENS, CLOSES = range(5), time(9), time(17)


def windowed(daily_cap: int = 5, min_gap_s: float = 0) -> dict[str, Any]:
    """The default window (Mon–Fri 09:00–17:00, UTC for contacts without a zone), explicitly."""
    return {
        "window": {"days": "mon-fri", "hours": "09:00-17:00", "timezone": "UTC"},
        "daily_cap": daily_cap,
        "min_gap_s": min_gap_s,
    }


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class SendLog:
    """Every message the file transport was handed, counted per Message-ID (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def add(self, message_id: str) -> None:
        with self._lock:
            self.calls[message_id] += 1


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> SendLog:
    """Count each message the file transport receives (and still deliver it)."""
    log = SendLog()
    original = FileTransport.send

    def counting(self: FileTransport, message: email.message.EmailMessage) -> None:
        log.add(str(message["Message-ID"]))
        original(self, message)

    monkeypatch.setattr(FileTransport, "send", counting)
    return log


def start(
    context: Context, contacts: list[str], settings: dict[str, Any], at: datetime
) -> Campaign:
    """A campaign with these sending settings, the contacts enrolled at `at`."""
    crm = CrmStore(context.db_url)
    create_campaign(
        crm,
        name="Q4 outreach",
        offer="a 20-minute walkthrough of our scheduling assistant",
        sender_name="Sam Rivera",
        sender_email=SENDER,
        campaign_id=CAMPAIGN,
        settings=settings,
    )
    assert enroll(crm, CAMPAIGN, contacts, at) == (len(contacts), 0)
    return Campaign(context=context, campaign_id=CAMPAIGN)


def run_tick(campaign: Campaign, when: datetime) -> dict[str, Any]:
    report = tick(campaign.at(when), concurrency=4).as_dict()
    assert report["errors"] == [], report
    return report


def accept_all(campaign: Campaign, when: datetime) -> list[tuple[str, int]]:
    """Accept every pending draft at `when`; the (thread, touch) of each."""
    crm = CrmStore(campaign.context.db_url)
    with crm.connect() as conn:
        waiting = conn.execute(
            select(enrollments.c.thread_id).where(enrollments.c.status == "awaiting_approval")
        ).first()
    if waiting is None:
        return []
    accepted = []
    with campaign_runtime(campaign.at(when)) as rt:
        for item in pending_approvals(rt):
            decide(rt, item["thread_id"], ACCEPT)
            accepted.append((item["thread_id"], item["touch"]))
    return accepted


def rows(crm: CrmStore, status: str | None = None) -> list[dict[str, Any]]:
    return [r for r in outbox_rows(crm) if status is None or r["status"] == status]


def zones(crm: CrmStore) -> dict[str, ZoneInfo]:
    return {c["email"]: ZoneInfo(c["timezone"] or "UTC") for c in crm.list_contacts()}


def in_window(at: datetime, tz: ZoneInfo) -> bool:
    here = at.astimezone(tz)
    return here.weekday() in OPEN_DAYS and OPENS <= here.time() < CLOSES


def maildir_ids(outbox_dir: str) -> Counter[str]:
    """How many files of the file transport's maildir carry each Message-ID."""
    found: Counter[str] = Counter()
    for sub in ("new", "cur"):
        for path in (Path(outbox_dir) / sub).glob("*"):
            message = email.message_from_bytes(path.read_bytes())
            found[str(message["Message-ID"])] += 1
    return found


def sent_per_utc_day(crm: CrmStore) -> Counter[date]:
    return Counter(parse_instant(r["sent_at"]).date() for r in rows(crm, "sent"))


# -- 1. a week across a daylight-saving change --------------------------------------------

WEEK_CONTACTS = [
    "c01",  # America/Chicago
    "c02",  # America/Chicago
    "c04",  # America/New_York
    "c05",  # America/Los_Angeles
    "c08",  # America/Denver
    "c12",  # Europe/Berlin
    "c13",  # Europe/Warsaw
    "c15",  # Asia/Singapore
    "c16",  # Europe/London
    "c19",  # America/Phoenix (no DST)
    "c23",  # Europe/Stockholm
    "c25",  # Australia/Sydney
]
WEEK_START = utc("2026-10-25T00:00:00")
"""A Sunday: Europe's clocks go back at 01:00 UTC that day, America's a week later."""
APPROVE_UNTIL = utc("2026-11-07T00:00:00")
"""Drafts are accepted every hour until Friday 2026-11-06 ends (UTC)."""
DRAIN_UNTIL = utc("2026-11-14T00:00:00")
"""Ticks go on (nothing more accepted) until nothing approved is waiting, at most this long."""


def test_a_week_across_dst_keeps_windows_and_cap_and_sends_everything_once(
    context: Context, sends: SendLog
) -> None:
    crm = CrmStore(context.db_url)
    campaign = start(context, WEEK_CONTACTS, windowed(daily_cap=5), WEEK_START)
    accepted: list[tuple[str, int]] = []
    waited_for_window = waited_for_cap = False
    hour = WEEK_START
    while hour < APPROVE_UNTIL or (rows(crm, "scheduled") and hour < DRAIN_UNTIL):
        run_tick(campaign, hour)
        if hour < APPROVE_UNTIL:
            accepted += accept_all(campaign, hour)
        for row in rows(crm, "scheduled"):
            waits = parse_instant(row["scheduled_for"])
            assert waits > hour, row
            waited_for_cap |= waits.time() == time(0) and waits.date() > hour.date()
            waited_for_window |= waits.time() != time(0)
        hour += HOUR

    assert not rows(crm, "scheduled"), "approved touches still waiting after the drain"
    assert waited_for_window and waited_for_cap  # both limits were really in play
    assert len(accepted) >= 2 * len(WEEK_CONTACTS)  # first touches and follow-ups
    assert len(set(accepted)) == len(accepted)

    # No send outside Mon–Fri 09:00–17:00 in the contact's own local time.
    where = zones(crm)
    sent = rows(crm, "sent")
    for row in sent:
        at = parse_instant(row["sent_at"])
        assert in_window(at, where[row["to_email"]]), (row["to_email"], at.astimezone(UTC))

    # Never more than 5 a UTC day, and the cap was reached.
    per_day = sent_per_utc_day(crm)
    assert max(per_day.values()) == 5, per_day

    # Every accepted touch sent exactly once: one row, `sent`, one transport call, one file.
    assert {r["idempotency_key"] for r in sent} == {idempotency_key(t, n) for t, n in accepted}
    assert all(r["status"] == "sent" for r in outbox_rows(crm)), Counter(
        r["status"] for r in outbox_rows(crm)
    )
    message_ids = {r["message_id"] for r in sent}
    assert len(message_ids) == len(sent)
    assert sends.calls == Counter(dict.fromkeys(message_ids, 1))
    assert maildir_ids(context.outbox_dir) == Counter(dict.fromkeys(message_ids, 1))

    # The ledger agrees with the outbox for the last day it counted.
    [ledger] = _ledger(crm)
    assert ledger["sent_on_day"] == per_day[date.fromisoformat(ledger["day"])]


def test_us_contacts_open_an_hour_later_in_utc_after_the_change(
    context: Context, sends: SendLog
) -> None:
    """New York's 09:00 is 13:00 UTC on the Friday before 2026-11-01, 14:00 UTC after it."""
    crm = CrmStore(context.db_url)
    friday_evening = utc("2026-10-30T21:30:00")  # 17:30 EDT: closed
    campaign = start(context, ["c04"], windowed(daily_cap=5), friday_evening)
    run_tick(campaign, friday_evening)
    [(thread_id, touch)] = accept_all(campaign, friday_evening)
    [row] = rows(crm, "scheduled")
    assert parse_instant(row["scheduled_for"]) == utc("2026-11-02T14:00:00")
    assert parse_instant(enrollment(crm, thread_id)["next_due_at"]) == utc("2026-11-02T14:00:00")
    for hour in (utc("2026-11-02T12:00:00"), utc("2026-11-02T13:00:00")):
        run_tick(campaign, hour)  # 07:00 and 08:00 EST: not yet (13:00 UTC was 09:00 EDT)
        assert rows(crm, "scheduled") and not sends.calls
    run_tick(campaign, utc("2026-11-02T14:00:00"))
    [row] = rows(crm, "sent")
    assert row["idempotency_key"] == idempotency_key(thread_id, touch)
    assert parse_instant(row["sent_at"]).astimezone(ZoneInfo("America/New_York")).time() == time(9)
    assert list(sends.calls.values()) == [1]


# -- 2. the cap holds across concurrent ticks ---------------------------------------------

CONCURRENT = ["c01", "c02", "c04", "c07", "c09", "c12", "c13", "c16"]
"""Chicago, New York, Berlin, Warsaw and London: all inside their window at 15:30 UTC."""
SATURDAY = utc("2026-10-31T12:00:00")
MONDAY = utc("2026-11-02T15:30:00")


def test_two_ticks_at_the_same_instant_never_exceed_the_cap(
    context: Context, sends: SendLog
) -> None:
    crm = CrmStore(context.db_url)
    campaign = start(context, CONCURRENT, windowed(daily_cap=5), SATURDAY)
    run_tick(campaign, SATURDAY)
    accepted = accept_all(campaign, SATURDAY)  # the weekend: all eight wait for Monday
    assert len(accepted) == 8
    assert len(rows(crm, "scheduled")) == 8 and not sends.calls
    assert all(parse_instant(r["scheduled_for"]) <= MONDAY for r in rows(crm))

    barrier = threading.Barrier(2)
    reports: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def ticker() -> None:
        try:
            barrier.wait(timeout=30)
            reports.append(tick(campaign.at(MONDAY), concurrency=4).as_dict())
        except BaseException as exc:  # handed to the test thread below
            errors.append(exc)

    workers = [threading.Thread(target=ticker, daemon=True) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert not worker.is_alive()
    assert not errors, errors
    assert all(r["errors"] == [] for r in reports), reports

    monday = [r for r in rows(crm, "sent") if parse_instant(r["sent_at"]).date() == MONDAY.date()]
    assert len(monday) == 5, Counter(r["status"] for r in rows(crm))
    assert sum(sends.calls.values()) == 5
    waiting = rows(crm, "scheduled")
    assert len(waiting) == 3
    assert all(parse_instant(r["scheduled_for"]) >= utc("2026-11-03T00:00:00") for r in waiting)
    [ledger] = _ledger(crm)
    assert (ledger["day"], ledger["sent_on_day"]) == ("2026-11-02", 5)

    # The three left go the next day, once each; nothing more is ever sent.
    for hour in (utc("2026-11-03T00:00:00"), utc("2026-11-03T15:30:00"), utc("2026-11-04T15:30")):
        run_tick(campaign, hour)
    assert not rows(crm, "scheduled")
    assert {r["idempotency_key"] for r in rows(crm, "sent")} == {
        idempotency_key(t, n) for t, n in accepted
    }
    assert sends.calls == Counter(dict.fromkeys((r["message_id"] for r in rows(crm)), 1))
    assert max(sent_per_utc_day(crm).values()) <= 5


def _ledger(crm: CrmStore) -> list[dict[str, Any]]:
    with crm.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(mailboxes))]


# -- 3. pacing ----------------------------------------------------------------------------

PACED_AT = utc("2026-11-02T10:00:00")
"""Monday 10:00 in London and Dublin (both UTC+0 in November)."""


def test_the_second_of_two_sends_at_one_instant_waits_the_jittered_gap(
    context: Context, sends: SendLog
) -> None:
    crm = CrmStore(context.db_url)
    campaign = start(context, ["c14", "c16"], windowed(daily_cap=50, min_gap_s=60), PACED_AT)
    run_tick(campaign, PACED_AT)
    accepted = accept_all(campaign, PACED_AT)
    assert len(accepted) == 2

    [first] = rows(crm, "sent")
    [second] = rows(crm, "scheduled")
    assert parse_instant(first["sent_at"]) == PACED_AT
    waits = parse_instant(second["scheduled_for"]) - PACED_AT
    assert timedelta(seconds=48) <= waits <= timedelta(seconds=72), waits
    assert second["sent_at"] is None
    due = parse_instant(enrollment(crm, second["thread_id"])["next_due_at"])
    assert due == parse_instant(second["scheduled_for"])
    assert list(sends.calls.values()) == [1]

    run_tick(campaign, PACED_AT + timedelta(seconds=47))  # not due yet: nothing goes
    assert len(rows(crm, "scheduled")) == 1 and sum(sends.calls.values()) == 1

    after = PACED_AT + timedelta(seconds=73)
    run_tick(campaign, after)
    assert not rows(crm, "scheduled")
    sent = {r["idempotency_key"]: r for r in rows(crm, "sent")}
    assert parse_instant(sent[second["idempotency_key"]]["sent_at"]) == after
    for later in (after + timedelta(minutes=5), after + timedelta(days=1)):
        run_tick(campaign, later)
    assert sends.calls == Counter({first["message_id"]: 1, second["message_id"]: 1})
    assert maildir_ids(context.outbox_dir) == sends.calls


# -- 4. a thread that ends while its touch waits -------------------------------------------


def scheduled_touch(context: Context, contacts: list[str]) -> tuple[Campaign, list[str]]:
    """Each contact's first touch approved on Saturday: `scheduled` for Monday."""
    crm = CrmStore(context.db_url)
    campaign = start(context, contacts, windowed(daily_cap=5), SATURDAY)
    run_tick(campaign, SATURDAY)
    accepted = accept_all(campaign, SATURDAY)
    assert len(accepted) == len(contacts)
    assert len(rows(crm, "scheduled")) == len(contacts)
    return campaign, [t for t, _ in accepted]


@pytest.mark.parametrize("tick_before_the_slot", [True, False])
def test_a_reply_while_a_touch_waits_stops_the_thread_and_withdraws_it(
    context: Context, sends: SendLog, tick_before_the_slot: bool
) -> None:
    crm = CrmStore(context.db_url)
    campaign, threads = scheduled_touch(context, ["c04", "c09"])  # both New York
    replied, other = thread(CAMPAIGN, "c04"), thread(CAMPAIGN, "c09")
    assert sorted(threads) == sorted([replied, other])
    sunday = utc("2026-11-01T12:00:00")
    record_inbound(crm, "c04", kind="reply", body="Thanks, not right now.", now=sunday)
    if tick_before_the_slot:
        run_tick(campaign, sunday)
        assert enrollment(crm, replied)["status"] == "stopped"
        [row] = [r for r in rows(crm) if r["thread_id"] == replied]
        assert row["status"] == "withdrawn"
    for hour in (utc("2026-11-02T14:00:00"), utc("2026-11-02T15:00:00"), utc("2026-11-03T14:00")):
        run_tick(campaign, hour)

    state = enrollment(crm, replied)
    assert (state["status"], state["stop_reason"]) == ("stopped", "replied")
    by_thread = {r["thread_id"]: r for r in rows(crm)}
    assert by_thread[replied]["status"] == "withdrawn"
    assert by_thread[replied]["sent_at"] is None
    assert by_thread[other]["status"] == "sent"  # the other contact's touch went as planned
    assert sends.calls == Counter({by_thread[other]["message_id"]: 1})
    assert maildir_ids(context.outbox_dir) == sends.calls


def test_release_withdraws_a_scheduled_send(context: Context, sends: SendLog) -> None:
    crm = CrmStore(context.db_url)
    campaign, _ = scheduled_touch(context, ["c04", "c09"])
    released, other = thread(CAMPAIGN, "c04"), thread(CAMPAIGN, "c09")
    sunday = utc("2026-11-01T12:00:00")

    outcome = release(crm, CAMPAIGN, "c04", sunday)
    assert [(r["thread_id"], r["withdrawn_sends"]) for r in outcome] == [(released, 1)]
    assert release(crm, CAMPAIGN, "c04", sunday)[0]["withdrawn_sends"] == 0  # idempotent

    for hour in (utc("2026-11-02T14:00:00"), utc("2026-11-02T15:00:00"), utc("2026-11-03T14:00")):
        run_tick(campaign, hour)
    assert enrollment(crm, released)["status"] == "released"
    by_thread = {r["thread_id"]: r for r in rows(crm)}
    assert by_thread[released]["status"] == "withdrawn"
    assert by_thread[other]["status"] == "sent"
    assert sends.calls == Counter({by_thread[other]["message_id"]: 1})


def test_release_from_the_cli_withdraws_a_scheduled_send(
    context: Context, sends: SendLog, cli: Cli
) -> None:
    crm = CrmStore(context.db_url)
    campaign, _ = scheduled_touch(context, ["c04"])
    out = as_json(cli("release", "--campaign", CAMPAIGN, "--now", "2026-11-01T12:00:00Z", "--json"))
    assert [(r["thread_id"], r["withdrawn_sends"]) for r in out] == [(thread(CAMPAIGN, "c04"), 1)]
    run_tick(campaign, utc("2026-11-02T14:00:00"))
    assert [r["status"] for r in rows(crm)] == ["withdrawn"]
    assert not sends.calls


# -- 5. settings from the command line -----------------------------------------------------

CREATE = (
    "campaign",
    "create",
    "--name",
    "Q4",
    "--offer",
    "a walkthrough",
    "--sender-name",
    "Sam",
    "--sender-email",
    SENDER,
)


def test_cli_campaign_window_settings_are_stored_and_respected(
    context: Context, sends: SendLog, cli: Cli
) -> None:
    crm = CrmStore(context.db_url)
    created = cli(
        *CREATE,
        "--id",
        CAMPAIGN,
        "--send-days",
        "mon-fri",
        "--send-hours",
        "09:00-17:00",
        "--timezone",
        "Europe/Berlin",
        "--holidays",
        "de",
        "--daily-cap",
        "5",
        "--min-gap-s",
        "0",
        "--json",
    )
    assert as_json(created) == {"campaign_id": CAMPAIGN}
    campaign_row = crm.get_campaign(CAMPAIGN)
    assert campaign_row is not None
    settings = json.loads(campaign_row["settings"])
    assert settings["window"] == {
        "days": "mon-fri",
        "hours": "09:00-17:00",
        "timezone": "Europe/Berlin",
        "holidays": "DE",
    }
    assert (settings["daily_cap"], settings["min_gap_s"]) == (5, 0)

    # Klaus (Europe/Berlin) approved on Christmas Eve evening: Christmas and the weekend
    # are skipped, the touch goes on Monday 2026-12-28 at 09:00 in Berlin.
    christmas_eve = utc("2026-12-24T17:30:00")
    enroll(crm, CAMPAIGN, ["c12"], christmas_eve)
    campaign = Campaign(context=context, campaign_id=CAMPAIGN)
    run_tick(campaign, christmas_eve)
    assert len(accept_all(campaign, christmas_eve)) == 1
    [row] = rows(crm, "scheduled")
    assert parse_instant(row["scheduled_for"]) == utc("2026-12-28T08:00:00")
    run_tick(campaign, utc("2026-12-25T08:00:00"))
    assert not sends.calls
    run_tick(campaign, utc("2026-12-28T08:00:00"))
    assert [r["status"] for r in rows(crm)] == ["sent"]
    assert sum(sends.calls.values()) == 1


@pytest.mark.parametrize(
    ("option", "value", "word"),
    [
        ("--send-days", "funday", "day"),
        ("--send-hours", "17:00-09:00", "hours"),
        ("--timezone", "Mars/Olympus_Mons", "timezone"),
        ("--holidays", "XX", "holidays"),
        ("--daily-cap", "0", "daily-cap"),
        ("--min-gap-s", "-5", "min-gap-s"),
    ],
)
def test_cli_bad_window_settings_are_one_line_and_create_nothing(
    context: Context, cli: Cli, option: str, value: str, word: str
) -> None:
    line = one_line_error(cli(*CREATE, "--id", CAMPAIGN, option, value))
    assert word in line
    assert CrmStore(context.db_url).get_campaign(CAMPAIGN) is None
