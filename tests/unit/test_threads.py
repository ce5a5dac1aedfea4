"""Thread ids are the business identity: one per (campaign, contact) (SPEC §8)."""

from __future__ import annotations

import pytest

from checkpoints.threads import campaign_thread_id, parse_thread_id
from schemas.errors import UserError


@pytest.mark.parametrize(
    ("campaign", "contact", "thread"),
    [
        ("q4", "c_1a2b3c4d5e6f", "campaign:q4:contact:c_1a2b3c4d5e6f"),
        ("spring-launch", "lucas", "campaign:spring-launch:contact:lucas"),
        ("c1", "x", "campaign:c1:contact:x"),
    ],
)
def test_thread_id_format_and_round_trip(campaign: str, contact: str, thread: str) -> None:
    assert campaign_thread_id(campaign, contact) == thread
    assert parse_thread_id(thread) == (campaign, contact)


@pytest.mark.parametrize(
    ("campaign", "contact", "named"),
    [
        ("", "c_1", "campaign id ''"),
        ("q4", "", "contact id ''"),
        ("q4:b", "c_1", "campaign id 'q4:b'"),
        ("q4", "c:1", "contact id 'c:1'"),
    ],
)
def test_bad_parts_raise_a_user_error_naming_them(campaign: str, contact: str, named: str) -> None:
    with pytest.raises(UserError) as info:
        campaign_thread_id(campaign, contact)
    assert named in str(info.value)


@pytest.mark.parametrize(
    "thread",
    [
        "",
        "q4:c_1",
        "campaign:q4",
        "campaign::contact:c_1",
        "campaign:q4:contact:",
        "campaign:q4:contact:c:1",
        "contact:c_1:campaign:q4",
        "Campaign:q4:Contact:c_1",
        " campaign:q4:contact:c_1",
    ],
)
def test_bad_thread_ids_raise_a_user_error_naming_the_id(thread: str) -> None:
    with pytest.raises(UserError) as info:
        parse_thread_id(thread)
    message = str(info.value)
    assert repr(thread) in message
    assert "\n" not in message
