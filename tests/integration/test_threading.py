"""Follow-ups answer the first touch (SPEC §11): In-Reply-To, References and one `Re:`."""

from __future__ import annotations

import mailbox
from email.message import Message
from email.utils import parsedate_to_datetime

import pytest

from schemas.context import Context
from tests.integration.campaign_helpers import Campaign, day, start_campaign

pytestmark = pytest.mark.integration


def three_touches(campaign: Campaign) -> list[Message]:
    """Send touches 1-3 of one thread (gaps 0, 4, 7 days) and read them back, in order."""
    for when in (day(0), day(4), day(11)):
        campaign.tick(when)
        assert campaign.approve_all(when) == 1
    sent = list(mailbox.Maildir(campaign.context.outbox_dir).values())
    return sorted(sent, key=lambda m: parsedate_to_datetime(str(m["Date"])))


def test_follow_ups_reply_in_the_first_touchs_thread(context: Context) -> None:
    first, second, third = three_touches(start_campaign(context, ["c02"]))

    assert first["In-Reply-To"] is None and first["References"] is None
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["References"] == first["Message-ID"]
    assert third["In-Reply-To"] == second["Message-ID"]
    assert (
        " ".join(str(third["References"]).split())
        == f"{first['Message-ID']} {second['Message-ID']}"
    )
    assert second["Subject"] == third["Subject"] == f"Re: {first['Subject']}"
    assert not str(third["Subject"]).startswith("Re: Re:")


def test_a_campaign_may_start_a_new_conversation_with_every_touch(context: Context) -> None:
    campaign = start_campaign(context, ["c02"], settings={"new_thread_per_touch": True})
    messages = three_touches(campaign)

    assert all(m["In-Reply-To"] is None and m["References"] is None for m in messages)
    assert not any(str(m["Subject"]).lower().startswith("re:") for m in messages)
