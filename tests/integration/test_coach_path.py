"""The campaign coach over a real OpenAI-compatible server on loopback (scripted answers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coachgraph.mail.outbox import list_outbox
from coachgraph.runner.threads import status_rows
from coachgraph.store.crm import CrmStore
from schemas.context import Context
from schemas.values import parse_instant
from tests.integration.campaign_helpers import T0, Campaign, day, start_campaign, thread
from tests.integration.fake_openai import FakeOpenAI, HttpError, Reply, Step, by_kind

pytestmark = pytest.mark.integration

CONTACTS = ["c02", "c04"]
DRAFT = Reply(json.dumps({"subject": "Reno", "body": "Hi, congratulations on Reno."}))
GOOD_PLAN = {
    "angle": "Keep dispatch follow-up fast while the Reno site ramps up",
    "tone": "Consultative",
    "cadence_days": [0, 2, 5],
    "max_touches": 3,
    "stop_criteria": "Stop when they reply or ask us to stop.",
}


def plan_reply(**changes: Any) -> Reply:
    return Reply(json.dumps(GOOD_PLAN | changes))


@pytest.fixture
def coach(
    fake_llm: FakeOpenAI, llm_context: Callable[..., Context], tmp_path: Path
) -> Callable[..., Campaign]:
    def start(plan: Step, *, enabled: bool = True) -> Campaign:
        fake_llm.set_responder(by_kind(other=plan, draft=DRAFT))
        context = llm_context(
            campaign_coach_enabled=enabled, outbox_dir=str(tmp_path / "outbox"), now=None
        )
        return start_campaign(context, CONTACTS)

    return start


def run_sequence(campaign: Campaign, days: int = 40) -> None:
    for n in range(days):
        campaign.tick(day(n))
        campaign.approve_all(day(n))


def test_a_valid_plan_is_followed_and_asked_for_once_per_thread(
    coach: Callable[..., Campaign], fake_llm: FakeOpenAI
) -> None:
    campaign = coach(plan_reply())
    run_sequence(campaign)
    crm = CrmStore(campaign.context.db_url)
    rows = status_rows(crm, "cmp1")
    for row in rows:
        assert row["plan"] == {
            "source": "coach",
            "cadence_days": [0, 2, 5],
            "max_touches": 3,
            "tone": "consultative",
            "angle": GOOD_PLAN["angle"],
        }
        assert (row["status"], row["touches_sent"]) == ("completed", 3)
    days = sorted({(parse_instant(r["sent_at"]) - T0).days for r in list_outbox(crm)})
    assert days == [0, 2, 7]
    assert fake_llm.count_of("other") == len(CONTACTS)  # one coach call per thread, ever
    snapshot = campaign.state(thread("cmp1", "c02"))
    assert snapshot.values["provenance"]["coach_plan"]["source"] == "llm"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (plan_reply(tone="aggressive"), "tone 'aggressive'"),
        (plan_reply(max_touches=9), "max_touches 9"),
        (plan_reply(angle="   "), "angle is empty"),
        (Reply("Plan: be warm, send 3 emails."), "bad content"),
        (HttpError(500), "http 500"),
    ],
    ids=["tone", "max_touches", "empty-angle", "garbage", "http-500"],
)
def test_an_unusable_plan_fails_open_to_the_defaults(
    coach: Callable[..., Campaign], fake_llm: FakeOpenAI, answer: Step, why: str
) -> None:
    campaign = coach(answer)
    campaign.tick(day(0))
    asked = fake_llm.count_of("other")
    assert 0 < asked <= len(CONTACTS) * campaign.context.llm_max_attempts
    run_sequence(campaign, days=12)
    assert fake_llm.count_of("other") == asked  # never asked again on later ticks
    for row in status_rows(CrmStore(campaign.context.db_url), "cmp1"):
        assert row["plan"] == {
            "source": "default",
            "cadence_days": [0, 4, 7, 7, 7, 7],
            "max_touches": 6,
            "tone": None,
            "angle": None,
        }
        assert row["touches_sent"] == 3  # days 0, 4 and 11
    prov = campaign.state(thread("cmp1", "c02")).values["provenance"]["coach_plan"]
    assert prov["source"] == "default" and "fail-open" in prov["reason"] and why in prov["reason"]


def test_with_the_flag_off_the_coach_is_never_asked(
    coach: Callable[..., Campaign], fake_llm: FakeOpenAI
) -> None:
    campaign = coach(plan_reply(), enabled=False)
    run_sequence(campaign, days=5)
    assert fake_llm.count_of("other") == 0
    assert fake_llm.count_of("draft") > 0
    assert campaign.state(thread("cmp1", "c02")).values.get("plan") is None
