"""repair_role_plan keeps the leader's plan inside the role enum, or fails open (SPEC §6)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.email.plan_roles import DEFAULT_ROLE_PLAN, ROLE_ORDER, repair_role_plan

DEFAULT = ["researcher", "composer"]


def test_default_plan_is_researcher_then_composer() -> None:
    assert DEFAULT_ROLE_PLAN == DEFAULT


@pytest.mark.parametrize(
    "raw",
    [
        ["composer"],
        ["researcher", "composer"],
        ["composer", "reviewer"],
        ["researcher", "composer", "reviewer"],
    ],
)
def test_exact_valid_plan_is_taken_as_given(raw: list[str]) -> None:
    plan = repair_role_plan(raw)
    assert (plan.roles, plan.source, plan.notes) == (raw, "llm", [])


@pytest.mark.parametrize(
    ("raw", "roles", "dropped"),
    [
        (["researcher", "composer", "writer"], ["researcher", "composer"], "'writer'"),
        (["sender", "composer"], ["composer"], "'sender'"),
        (["composer", "rm -rf /", "reviewer"], ["composer", "reviewer"], "'rm -rf /'"),
        (["composer", ""], ["composer"], "''"),
    ],
)
def test_unknown_roles_are_dropped_and_named(
    raw: list[str], roles: list[str], dropped: str
) -> None:
    plan = repair_role_plan(raw)
    assert plan.roles == roles
    assert plan.source == "repaired"
    assert any("unknown" in note and dropped in note for note in plan.notes), plan.notes


@pytest.mark.parametrize(
    ("raw", "roles"),
    [
        (["composer", "composer"], ["composer"]),
        (["researcher", "researcher", "composer"], ["researcher", "composer"]),
        (
            ["researcher", "composer", "reviewer", "reviewer"],
            ["researcher", "composer", "reviewer"],
        ),
        (["composer", "Composer", " composer "], ["composer"]),
    ],
)
def test_duplicates_are_dropped_and_named(raw: list[str], roles: list[str]) -> None:
    plan = repair_role_plan(raw)
    assert plan.roles == roles
    assert plan.source == "repaired"
    assert any("duplicate" in note for note in plan.notes), plan.notes


@pytest.mark.parametrize(
    ("raw", "roles"),
    [
        (["composer", "researcher"], ["researcher", "composer"]),
        (["reviewer", "composer"], ["composer", "reviewer"]),
        (["reviewer", "composer", "researcher"], ["researcher", "composer", "reviewer"]),
        (["composer", "reviewer", "researcher"], ["researcher", "composer", "reviewer"]),
    ],
)
def test_wrong_order_is_restored(raw: list[str], roles: list[str]) -> None:
    plan = repair_role_plan(raw)
    assert plan.roles == roles
    assert plan.source == "repaired"
    assert any("order" in note for note in plan.notes), plan.notes


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (["researcher"], "no composer"),
        (["reviewer"], "no composer"),
        (["researcher", "reviewer"], "no composer"),
        (["writer", "sender"], "empty plan"),
        ([], "empty plan"),
    ],
)
def test_plan_without_composer_fails_open_to_default(raw: list[Any], why: str) -> None:
    plan = repair_role_plan(raw)
    assert plan.roles == DEFAULT
    assert plan.source == "default"
    assert why in plan.notes[-1]


@pytest.mark.parametrize(
    "raw",
    [None, "researcher,composer", {"roles": ["composer"]}, 3, 2.5, ("researcher", "composer")],
    ids=["none", "string", "dict", "int", "float", "tuple"],
)
def test_non_list_fails_open_to_default(raw: Any) -> None:
    plan = repair_role_plan(raw)
    assert plan.roles == DEFAULT
    assert plan.source == "default"
    assert "not a list" in plan.notes[-1]
    assert type(raw).__name__ in plan.notes[-1]


def test_default_roles_are_a_fresh_list_each_time() -> None:
    plan = repair_role_plan(None)
    plan.roles.append("reviewer")
    assert repair_role_plan(None).roles == DEFAULT
    assert DEFAULT_ROLE_PLAN == DEFAULT


@pytest.mark.parametrize(
    ("raw", "roles"),
    [
        ([" Composer "], ["composer"]),
        (["RESEARCHER", "composer"], ["researcher", "composer"]),
        (["\tresearcher\n", " COMPOSER", "Reviewer "], ["researcher", "composer", "reviewer"]),
    ],
)
def test_case_and_whitespace_are_normalised(raw: list[str], roles: list[str]) -> None:
    plan = repair_role_plan(raw)
    assert plan.roles == roles
    assert plan.source == "repaired"
    assert any("normalised" in note for note in plan.notes)


@pytest.mark.parametrize(
    "junk",
    [1, None, {"role": "composer"}, ["composer"], 0.5, True],
    ids=["int", "none", "dict", "nested-list", "float", "bool"],
)
def test_non_string_items_are_dropped(junk: Any) -> None:
    plan = repair_role_plan([junk, "researcher", "composer"])
    assert plan.roles == ["researcher", "composer"]
    assert plan.source == "repaired"
    assert plan.notes == [f"dropped unknown role {junk!r}"]


def test_only_non_string_items_fail_open_with_each_drop_noted() -> None:
    plan = repair_role_plan([1, None, {"role": "composer"}])
    assert plan.roles == DEFAULT
    assert plan.source == "default"
    assert plan.notes[:3] == [
        "dropped unknown role 1",
        "dropped unknown role None",
        "dropped unknown role {'role': 'composer'}",
    ]


def test_repaired_notes_name_every_drop_in_order() -> None:
    plan = repair_role_plan(["reviewer", "composer", "writer", "composer"])
    assert plan.roles == ["composer", "reviewer"]
    assert plan.source == "repaired"
    assert plan.notes == [
        "dropped unknown role 'writer'",
        "dropped duplicate role 'composer'",
        "restored order researcher→composer→reviewer",
    ]


ROLE_ITEMS = st.one_of(
    st.sampled_from([*ROLE_ORDER, " Composer ", "REVIEWER", "writer"]),
    st.text(max_size=12),
    st.integers(),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ROLE_ITEMS, max_size=8))
def test_any_list_repairs_to_an_ordered_subsequence_with_composer(raw: list[Any]) -> None:
    plan = repair_role_plan(raw)
    assert plan.roles
    assert "composer" in plan.roles
    assert len(set(plan.roles)) == len(plan.roles)
    assert plan.roles == [r for r in ROLE_ORDER if r in plan.roles]
    assert plan.source in {"llm", "repaired", "default"}
    if plan.source == "default":
        assert plan.roles == DEFAULT
    if plan.source == "llm":
        assert plan.notes == []
    else:
        assert plan.notes
