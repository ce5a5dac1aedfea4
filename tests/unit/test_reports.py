"""Campaign report arithmetic: funnel rows with gaps, edit rate, and the price settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from coachgraph.runner.reports import FUNNEL, edit_rate, touch_rows
from schemas.context import Context


def test_touch_rows_run_from_one_to_the_highest_touch_with_zeros_between() -> None:
    rows = touch_rows({(1, "sent"): 3, (1, "replied"): 1, (3, "failed"): 2})

    assert rows == [
        {"touch": 1, "sent": 3, "replied": 1, "bounced": 0, "unsubscribed": 0, "failed": 0},
        {"touch": 2, "sent": 0, "replied": 0, "bounced": 0, "unsubscribed": 0, "failed": 0},
        {"touch": 3, "sent": 0, "replied": 0, "bounced": 0, "unsubscribed": 0, "failed": 2},
    ]
    assert list(rows[0]) == ["touch", *FUNNEL]


def test_touch_rows_are_empty_when_nothing_happened() -> None:
    assert touch_rows({}) == []


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        ({}, None),
        ({"ignore": 4, "response": 2}, None),
        ({"accept": 2, "edit": 1, "ignore": 5}, 0.333),
        ({"edit": 3}, 1.0),
        ({"accept": 7}, 0.0),
    ],
)
def test_edit_rate_counts_edits_among_drafts_let_go(
    decisions: dict[str, int], expected: float | None
) -> None:
    assert edit_rate(decisions) == expected


def test_token_prices_default_and_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (Context().llm_usd_per_mtok_in, Context().llm_usd_per_mtok_out) == (0.27, 1.10)
    monkeypatch.setenv("LLM_USD_PER_MTOK_IN", "0.5")
    monkeypatch.setenv("LLM_USD_PER_MTOK_OUT", "0")
    assert (Context().llm_usd_per_mtok_in, Context().llm_usd_per_mtok_out) == (0.5, 0.0)


def test_a_negative_token_price_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_USD_PER_MTOK_OUT", "-1")

    with pytest.raises(ValidationError, match="LLM_USD_PER_MTOK_OUT"):
        Context()
