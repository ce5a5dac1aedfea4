"""coerce_coach_plan bounds the coach's answer all-or-nothing; why_rejected says why (SPEC §7)."""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.campaign.coach_rules import (
    CADENCE_RANGE,
    DEFAULT_CADENCE_DAYS,
    DEFAULT_MAX_TOUCHES,
    DEFAULT_STOP_CRITERIA,
    MAX_ANGLE,
    MAX_STOP_CRITERIA,
    TOUCH_RANGE,
    coerce_coach_plan,
    default_cadence,
    default_plan_values,
    why_rejected,
)
from schemas.coach import TONES, CoachPlanOutput

MISSING = object()
BASE: dict[str, Any] = {
    "angle": "Cut onboarding time in half",
    "tone": "warm",
    "max_touches": 3,
    "cadence_days": [0, 3, 5],
    "stop_criteria": "Stop on any reply.",
}
EXPECTED_BASE: dict[str, Any] = dict(BASE)
NAN = float("nan")
INF = float("inf")


def answer(**overrides: Any) -> dict[str, Any]:
    """BASE with fields replaced; MISSING drops a field."""
    merged = {**BASE, **overrides}
    return {key: value for key, value in merged.items() if value is not MISSING}


def test_constants_match_spec() -> None:
    assert DEFAULT_CADENCE_DAYS == (0, 4, 7, 7, 7, 7)
    assert DEFAULT_MAX_TOUCHES == 6
    assert (MAX_ANGLE, MAX_STOP_CRITERIA) == (200, 300)
    assert (CADENCE_RANGE, TOUCH_RANGE) == ((0, 60), (1, 6))
    assert TONES == ("warm", "direct", "formal", "casual", "consultative")


# Accepted answers: (overrides, the fields of the plan that must come out).
ACCEPTED = [
    # angle
    pytest.param({}, EXPECTED_BASE, id="valid-answer-as-given"),
    pytest.param(
        {"angle": "  Cut \n\t onboarding   time "},
        {"angle": "Cut onboarding time"},
        id="angle-stripped-and-folded",
    ),
    pytest.param({"angle": "a" * 200}, {"angle": "a" * 200}, id="angle-200-kept"),
    pytest.param({"angle": "a" * 201}, {"angle": "a" * 200}, id="angle-201-cut-to-200"),
    pytest.param({"angle": "a" * 5000}, {"angle": "a" * 200}, id="angle-long-cut-to-200"),
    pytest.param({"angle": "a" * 199 + " bc"}, {"angle": "a" * 199}, id="angle-cut-then-stripped"),
    pytest.param(
        {"angle": "  " + "a" * 200 + "  "}, {"angle": "a" * 200}, id="angle-padding-not-counted"
    ),
    # tone
    *[pytest.param({"tone": t}, {"tone": t}, id=f"tone-{t}") for t in TONES],
    pytest.param({"tone": "WARM"}, {"tone": "warm"}, id="tone-upper"),
    pytest.param({"tone": " Consultative \n"}, {"tone": "consultative"}, id="tone-padded-mixed"),
    # max_touches
    pytest.param({"max_touches": 1}, {"max_touches": 1, "cadence_days": [0]}, id="touches-1"),
    pytest.param(
        {"max_touches": 6, "cadence_days": MISSING},
        {"max_touches": 6, "cadence_days": [0, 4, 7, 7, 7, 7]},
        id="touches-6",
    ),
    pytest.param({"max_touches": "3"}, {"max_touches": 3}, id="touches-str"),
    pytest.param({"max_touches": " 4 "}, {"max_touches": 4}, id="touches-padded-str"),
    pytest.param({"max_touches": "5.0"}, {"max_touches": 5}, id="touches-whole-float-str"),
    pytest.param({"max_touches": 3.0}, {"max_touches": 3}, id="touches-whole-float"),
    pytest.param({"max_touches": "+2"}, {"max_touches": 2}, id="touches-signed-str"),
    # cadence_days
    pytest.param(
        {"cadence_days": [1, 2, 3, 4, 5]}, {"cadence_days": [1, 2, 3]}, id="cadence-longer-cut"
    ),
    pytest.param(
        {"max_touches": 5, "cadence_days": [2, 9]},
        {"cadence_days": [2, 9, 7, 7, 7]},
        id="cadence-shorter-padded-with-defaults",
    ),
    pytest.param({"cadence_days": []}, {"cadence_days": [0, 4, 7]}, id="cadence-empty"),
    pytest.param({"cadence_days": MISSING}, {"cadence_days": [0, 4, 7]}, id="cadence-missing"),
    pytest.param({"cadence_days": None}, {"cadence_days": [0, 4, 7]}, id="cadence-none"),
    pytest.param({"cadence_days": {"0": 1}}, {"cadence_days": [0, 4, 7]}, id="cadence-dict"),
    pytest.param({"cadence_days": "1,2,3"}, {"cadence_days": [0, 4, 7]}, id="cadence-str"),
    pytest.param({"cadence_days": 5}, {"cadence_days": [0, 4, 7]}, id="cadence-number"),
    pytest.param({"cadence_days": (1, 2, 3)}, {"cadence_days": [0, 4, 7]}, id="cadence-tuple"),
    pytest.param(
        {"cadence_days": [-5, 61, "7"]},
        {"cadence_days": [0, 60, 7]},
        id="cadence-clamped-and-parsed",
    ),
    pytest.param(
        {"cadence_days": [0, 60, 30]}, {"cadence_days": [0, 60, 30]}, id="cadence-bounds-kept"
    ),
    pytest.param(
        {"cadence_days": [2.6, 2.5, 2.4]}, {"cadence_days": [3, 3, 2]}, id="cadence-rounded-half-up"
    ),
    pytest.param(
        {"cadence_days": [0.49999999999999994, 59.5, -0.5]},
        {"cadence_days": [0, 60, 0]},
        id="cadence-rounding-edges",
    ),
    pytest.param(
        {"cadence_days": [None, "soon", True]},
        {"cadence_days": [0, 4, 7]},
        id="cadence-non-numeric-take-default-gap",
    ),
    pytest.param(
        {"cadence_days": [5, None, 5]},
        {"cadence_days": [5, 4, 5]},
        id="cadence-default-gap-at-its-position",
    ),
    pytest.param(
        {"cadence_days": [NAN, INF, -INF]},
        {"cadence_days": [0, 60, 0]},
        id="cadence-nan-default-inf-clamped",
    ),
    pytest.param(
        {"cadence_days": [" 12 ", "3.5", 1e9]},
        {"cadence_days": [12, 4, 60]},
        id="cadence-strings-and-huge",
    ),
    pytest.param(
        {"cadence_days": ["1_0", "inf", "nan"]},
        {"cadence_days": [0, 4, 7]},
        id="cadence-non-decimal-strings-default",
    ),
    pytest.param(
        {"cadence_days": [[1], {"d": 1}, 10**30]},
        {"cadence_days": [0, 4, 60]},
        id="cadence-containers-default-bigint-clamped",
    ),
    # stop_criteria
    pytest.param(
        {"stop_criteria": "  Stop \n on   reply. "},
        {"stop_criteria": "Stop on reply."},
        id="stop-stripped-and-folded",
    ),
    pytest.param({"stop_criteria": "s" * 300}, {"stop_criteria": "s" * 300}, id="stop-300-kept"),
    pytest.param({"stop_criteria": "s" * 301}, {"stop_criteria": "s" * 300}, id="stop-301-cut"),
    pytest.param(
        {"stop_criteria": "s" * 299 + " t"},
        {"stop_criteria": "s" * 299},
        id="stop-cut-then-stripped",
    ),
    *[
        pytest.param(
            {"stop_criteria": bad},
            {"stop_criteria": DEFAULT_STOP_CRITERIA},
            id=f"stop-{name}-default",
        )
        for name, bad in [
            ("missing", MISSING),
            ("none", None),
            ("empty", ""),
            ("blank", " \n "),
            ("int", 5),
            ("list", ["Stop."]),
        ]
    ],
    # the answer as a whole
    pytest.param({"extra": "ignored", "why": [1, 2]}, EXPECTED_BASE, id="extra-keys-ignored"),
]


@pytest.mark.parametrize(("overrides", "expected"), ACCEPTED)
def test_accepted_answers_are_bounded(overrides: dict[str, Any], expected: dict[str, Any]) -> None:
    raw = answer(**overrides)
    plan = coerce_coach_plan(raw)
    assert plan is not None, why_rejected(raw)
    assert {key: dict(plan)[key] for key in expected} == expected
    assert why_rejected(raw) is None
    assert_plain_json_within_bounds(dict(plan))


# Rejected answers: (overrides, text the reason must contain).
REJECTED = [
    # angle
    pytest.param({"angle": ""}, "angle is empty", id="angle-empty"),
    pytest.param({"angle": " \n\t "}, "angle is empty", id="angle-blank"),
    pytest.param({"angle": MISSING}, "angle is missing", id="angle-missing"),
    pytest.param({"angle": None}, "angle is missing", id="angle-none"),
    pytest.param({"angle": 5}, "angle is not text (int)", id="angle-int"),
    pytest.param({"angle": ["Cut costs"]}, "angle is not text (list)", id="angle-list"),
    # tone
    pytest.param(
        {"tone": "aggressive"},
        "tone 'aggressive' is not one of warm, direct, formal, casual, consultative",
        id="tone-unknown",
    ),
    pytest.param({"tone": ""}, "tone '' is not one of", id="tone-empty"),
    pytest.param({"tone": "warm and direct"}, "is not one of", id="tone-two-words"),
    pytest.param({"tone": MISSING}, "tone is missing", id="tone-missing"),
    pytest.param({"tone": 1}, "tone 1 is not one of", id="tone-int"),
    pytest.param({"tone": ["warm"]}, "tone ['warm'] is not one of", id="tone-list"),
    # max_touches
    pytest.param({"max_touches": 2.5}, "max_touches 2.5 is not a whole number", id="touches-2.5"),
    pytest.param({"max_touches": "2.5"}, "max_touches '2.5' is not a whole", id="touches-str-2.5"),
    pytest.param({"max_touches": 0}, "max_touches 0 is outside 1–6", id="touches-0"),
    pytest.param({"max_touches": 7}, "max_touches 7 is outside 1–6", id="touches-7"),
    pytest.param({"max_touches": 9}, "max_touches 9 is outside 1–6", id="touches-9"),
    pytest.param({"max_touches": -1}, "max_touches -1 is outside 1–6", id="touches-neg"),
    pytest.param({"max_touches": "7"}, "max_touches '7' is outside 1–6", id="touches-str-7"),
    pytest.param({"max_touches": 6.0000001}, "not a whole number", id="touches-nearly-6"),
    pytest.param({"max_touches": True}, "max_touches True is not a number", id="touches-true"),
    pytest.param({"max_touches": False}, "max_touches False is not a number", id="touches-false"),
    pytest.param({"max_touches": NAN}, "max_touches nan is not a number", id="touches-nan"),
    pytest.param({"max_touches": INF}, "max_touches inf is not a whole", id="touches-inf"),
    pytest.param({"max_touches": "nan"}, "max_touches 'nan' is not a number", id="touches-str-nan"),
    pytest.param({"max_touches": "three"}, "'three' is not a number", id="touches-word"),
    pytest.param({"max_touches": ""}, "max_touches '' is not a number", id="touches-empty-str"),
    pytest.param({"max_touches": [3]}, "max_touches [3] is not a number", id="touches-list"),
    pytest.param({"max_touches": MISSING}, "max_touches is missing", id="touches-missing"),
    pytest.param({"max_touches": None}, "max_touches is missing", id="touches-none"),
    # several at once: every field is named
    pytest.param(
        {"angle": "", "tone": "loud", "max_touches": 0},
        "angle is empty; tone 'loud' is not one of warm, direct, formal, casual, consultative; "
        "max_touches 0 is outside 1–6",
        id="all-three-named",
    ),
]


@pytest.mark.parametrize(("overrides", "reason"), REJECTED)
def test_rejected_answers_give_none_and_a_reason(overrides: dict[str, Any], reason: str) -> None:
    raw = answer(**overrides)
    assert coerce_coach_plan(raw) is None
    why = why_rejected(raw)
    assert why is not None
    assert reason in why


@pytest.mark.parametrize(
    "raw",
    [None, "plan", 3, 2.5, True, [BASE], (BASE,), b"{}", CoachPlanOutput],
    ids=["none", "str", "int", "float", "bool", "list", "tuple", "bytes", "model-class"],
)
def test_non_object_answers_are_rejected(raw: object) -> None:
    assert coerce_coach_plan(raw) is None
    assert why_rejected(raw) == f"not a JSON object ({type(raw).__name__})"


def test_model_instance_is_coerced_like_its_fields() -> None:
    model = CoachPlanOutput.model_validate(answer(tone=" Direct ", max_touches="2"))
    assert coerce_coach_plan(model) == {
        **EXPECTED_BASE,
        "tone": "direct",
        "max_touches": 2,
        "cadence_days": [0, 3],
    }


def test_model_never_rejects_a_value_and_drops_extra_keys() -> None:
    junk = {
        "angle": 5,
        "tone": None,
        "cadence_days": "soon",
        "max_touches": [NAN],
        "stop_criteria": {"a": 1},
        "extra": 1,
    }
    model = CoachPlanOutput.model_validate(junk)
    assert "extra" not in model.model_dump()
    assert CoachPlanOutput().model_dump() == dict.fromkeys(BASE)
    assert why_rejected(model) == "angle is not text (int); tone is missing; " + (
        "max_touches [nan] is not a number"
    )


def test_other_mappings_are_read() -> None:
    assert coerce_coach_plan(MappingProxyType(BASE)) == EXPECTED_BASE


def test_result_is_fresh_and_plain_json() -> None:
    cadence = [1.0, "2", 3]
    raw = answer(cadence_days=cadence, max_touches=3.0)
    plan = coerce_coach_plan(raw)
    assert plan is not None
    assert plan["cadence_days"] is not cadence
    assert type(plan) is dict
    assert type(plan["max_touches"]) is int
    assert [type(gap) for gap in plan["cadence_days"]] == [int, int, int]
    plan["cadence_days"].append(9)
    assert coerce_coach_plan(raw) == {**EXPECTED_BASE, "cadence_days": [1, 2, 3]}
    assert raw["cadence_days"] == [1.0, "2", 3]


def test_defaults_are_fresh_each_time() -> None:
    values = default_plan_values()
    assert values == {
        "cadence_days": [0, 4, 7, 7, 7, 7],
        "max_touches": 6,
        "angle": None,
        "tone": None,
        "stop_criteria": DEFAULT_STOP_CRITERIA,
    }
    values["cadence_days"].append(1)
    assert default_plan_values()["cadence_days"] == [0, 4, 7, 7, 7, 7]
    assert default_cadence(2) == [0, 4]
    assert default_cadence() == [0, 4, 7, 7, 7, 7]


def assert_plain_json_within_bounds(plan: dict[str, Any]) -> None:
    assert set(plan) == set(BASE)
    assert plan["tone"] in TONES
    touches = plan["max_touches"]
    assert type(touches) is int and TOUCH_RANGE[0] <= touches <= TOUCH_RANGE[1]
    cadence = plan["cadence_days"]
    assert type(cadence) is list and len(cadence) == touches
    assert all(type(gap) is int and CADENCE_RANGE[0] <= gap <= CADENCE_RANGE[1] for gap in cadence)
    for key, limit in (("angle", MAX_ANGLE), ("stop_criteria", MAX_STOP_CRITERIA)):
        text = plan[key]
        assert type(text) is str and 1 <= len(text) <= limit
        assert text == " ".join(text.split())


JSON_LIKE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
WHITESPACE = st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=3)
NUMERIC_TEXT = st.one_of(
    st.integers(-10, 100).map(str),
    st.floats(-10, 100, allow_nan=False).map(str),
    st.sampled_from(["3.0", " 4 ", "2.5", "1e0", "+2", "-0", ".5", "nan", "inf", "1_0", "7"]),
)
ANGLES = st.one_of(
    st.text(min_size=1, max_size=260).filter(str.strip),
    st.builds(lambda a, b, c: a + b + c, WHITESPACE, st.text(max_size=260), WHITESPACE),
)
TONE_SPELLINGS = st.builds(
    lambda pad, tone, upper, pad2: pad + (tone.upper() if upper else tone.title()) + pad2,
    WHITESPACE,
    st.sampled_from(TONES),
    st.booleans(),
    WHITESPACE,
)
TOUCHES = st.one_of(
    st.integers(-2, 9),
    st.floats(-1, 8),
    st.integers(1, 6).map(float),
    NUMERIC_TEXT,
)
GAPS = st.one_of(
    st.integers(-100, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    NUMERIC_TEXT,
    st.none(),
    st.booleans(),
    st.text(max_size=5),
)
CADENCES = st.lists(GAPS, max_size=9)
STOPS = st.one_of(st.text(max_size=330), st.text(alphabet="ab \n", min_size=290, max_size=330))

FIELDS = {
    "angle": st.one_of(ANGLES, JSON_LIKE),
    "tone": st.one_of(TONE_SPELLINGS, st.sampled_from(TONES), JSON_LIKE),
    "max_touches": st.one_of(TOUCHES, st.integers(1, 6), JSON_LIKE),
    "cadence_days": st.one_of(CADENCES, JSON_LIKE),
    "stop_criteria": st.one_of(STOPS, JSON_LIKE),
}
ANSWERS = st.one_of(
    st.fixed_dictionaries(FIELDS),
    st.fixed_dictionaries({}, optional=FIELDS),
    st.builds(lambda fields: CoachPlanOutput.model_validate(fields), st.fixed_dictionaries(FIELDS)),
    JSON_LIKE,
)


@settings(max_examples=400, deadline=None)
@given(ANSWERS)
def test_any_answer_coerces_to_none_or_a_plan_within_every_bound(raw: object) -> None:
    plan = coerce_coach_plan(raw)
    if plan is not None:
        assert_plain_json_within_bounds(dict(plan))
        assert coerce_coach_plan(plan) == plan


@settings(max_examples=400, deadline=None)
@given(ANSWERS)
def test_why_rejected_is_none_exactly_when_the_answer_coerces(raw: object) -> None:
    why = why_rejected(raw)
    assert (why is None) == (coerce_coach_plan(raw) is not None)
    if why is not None:
        assert why.startswith(("not a JSON object", "angle", "tone", "max_touches"))


@settings(max_examples=300, deadline=None)
@given(
    angle=ANGLES.filter(str.strip),
    tone=st.one_of(TONE_SPELLINGS, st.sampled_from(TONES)),
    touches=st.one_of(st.integers(1, 6), st.integers(1, 6).map(lambda n: f" {n}.0 ")),
    cadence=st.one_of(CADENCES, JSON_LIKE),
    stop=st.one_of(STOPS, JSON_LIKE),
)
def test_usable_core_fields_always_give_a_plan(
    angle: str, tone: str, touches: int | str, cadence: object, stop: object
) -> None:
    raw = {
        "angle": angle,
        "tone": tone,
        "max_touches": touches,
        "cadence_days": cadence,
        "stop_criteria": stop,
    }
    plan = coerce_coach_plan(raw)
    assert plan is not None, why_rejected(raw)
    assert_plain_json_within_bounds(dict(plan))
    assert plan["tone"] == tone.strip().lower()
    assert plan["max_touches"] == int(float(touches))
    assert coerce_coach_plan(plan) == plan
    given_gaps = cadence if isinstance(cadence, list) else []
    for i, gap in enumerate(plan["cadence_days"]):
        if i >= len(given_gaps):
            assert gap == DEFAULT_CADENCE_DAYS[i]


def test_rounding_never_drifts_across_the_range() -> None:
    for tenth in range(-20, 620):
        value = tenth / 10
        plan = coerce_coach_plan(answer(max_touches=1, cadence_days=[value]))
        assert plan is not None
        expected = min(60, max(0, math.floor(value + 0.5)))
        assert plan["cadence_days"] == [expected], value
