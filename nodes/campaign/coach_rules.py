"""Pure rules that bound the coach model's answer into a `CoachPlan`, or reject it (SPEC §7).

`coerce_coach_plan` and `why_rejected` share one set of per-field checks, so a plan is
rejected exactly when there is a reason to give.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from schemas.coach import TONES, CoachPlan, CoachPlanValues, Tone

DEFAULT_CADENCE_DAYS: tuple[int, ...] = (0, 4, 7, 7, 7, 7)
DEFAULT_MAX_TOUCHES = 6
MAX_ANGLE = 200
MAX_STOP_CRITERIA = 300
CADENCE_RANGE: tuple[int, int] = (0, 60)
TOUCH_RANGE: tuple[int, int] = (1, 6)
DEFAULT_STOP_CRITERIA = (
    "Stop when the contact replies, bounces, unsubscribes or asks not to be contacted."
)

# JSON-style decimal notation only: float() alone would also take "nan", "inf" and "1_0".
_NUMERIC = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TONE_BY_NAME: dict[str, Tone] = {tone: tone for tone in TONES}
_SHOW_LIMIT = 40


@dataclass(frozen=True)
class _Rejected:
    """A field (or the whole answer) that makes the plan unusable, and why."""

    why: str


def default_cadence(touches: int = DEFAULT_MAX_TOUCHES) -> list[int]:
    """The default day gaps for the first `touches` touches.

    Args:
        touches: How many gaps to return (at most `len(DEFAULT_CADENCE_DAYS)`).

    Returns:
        A fresh list, safe to mutate.
    """
    return list(DEFAULT_CADENCE_DAYS[:touches])


def default_plan_values() -> CoachPlanValues:
    """What the graph fails open to: default cadence and touches, no angle or tone."""
    return CoachPlanValues(
        angle=None,
        tone=None,
        cadence_days=default_cadence(),
        max_touches=DEFAULT_MAX_TOUCHES,
        stop_criteria=DEFAULT_STOP_CRITERIA,
    )


def coerce_coach_plan(raw: object) -> CoachPlan | None:
    """Bound every field of the coach's answer, all or nothing.

    Args:
        raw: The model's answer: a mapping, a `CoachPlanOutput`, or anything else.

    Returns:
        A fresh plan of plain JSON values, or None when the answer is not an object or its
        angle, tone or max_touches is unusable (`why_rejected` says which).
    """
    checked = _check_plan(raw)
    return None if isinstance(checked, _Rejected) else checked


def why_rejected(raw: object) -> str | None:
    """Say why `coerce_coach_plan(raw)` is None.

    Args:
        raw: The same value given to `coerce_coach_plan`.

    Returns:
        A short reason naming each unusable field, or None when the answer coerces.
    """
    checked = _check_plan(raw)
    return checked.why if isinstance(checked, _Rejected) else None


def _check_plan(raw: object) -> CoachPlan | _Rejected:
    fields = _fields_of(raw)
    if fields is None:
        return _Rejected(f"not a JSON object ({type(raw).__name__})")
    angle = _check_angle(fields.get("angle"))
    tone = _check_tone(fields.get("tone"))
    touches = _check_max_touches(fields.get("max_touches"))
    if isinstance(angle, str) and isinstance(tone, str) and isinstance(touches, int):
        return CoachPlan(
            angle=angle,
            tone=tone,
            cadence_days=_cadence(fields.get("cadence_days"), touches),
            max_touches=touches,
            stop_criteria=_stop_criteria(fields.get("stop_criteria")),
        )
    return _Rejected("; ".join(c.why for c in (angle, tone, touches) if isinstance(c, _Rejected)))


def _fields_of(raw: object) -> Mapping[Any, Any] | None:
    if isinstance(raw, BaseModel):
        return raw.model_dump()
    return raw if isinstance(raw, Mapping) else None


def _check_angle(value: object) -> str | _Rejected:
    if value is None:
        return _Rejected("angle is missing")
    if not isinstance(value, str):
        return _Rejected(f"angle is not text ({type(value).__name__})")
    return _fold_and_cut(value, MAX_ANGLE) or _Rejected("angle is empty")


def _check_tone(value: object) -> Tone | _Rejected:
    if value is None:
        return _Rejected("tone is missing")
    tone = _TONE_BY_NAME.get(value.strip().casefold()) if isinstance(value, str) else None
    return tone or _Rejected(f"tone {_show(value)} is not one of {', '.join(TONES)}")


def _check_max_touches(value: object) -> int | _Rejected:
    if value is None:
        return _Rejected("max_touches is missing")
    number = _number(value)
    if number is None:
        return _Rejected(f"max_touches {_show(value)} is not a number")
    if isinstance(number, float) and not number.is_integer():
        return _Rejected(f"max_touches {_show(value)} is not a whole number")
    low, high = TOUCH_RANGE
    if not low <= number <= high:
        return _Rejected(f"max_touches {_show(value)} is outside {low}–{high}")
    return int(number)


def _cadence(value: object, touches: int) -> list[int]:
    """Clamp the given gaps, then cut or pad them with the default gaps to `touches`."""
    given = value[:touches] if isinstance(value, list) else []
    gaps = [_gap(entry, DEFAULT_CADENCE_DAYS[i]) for i, entry in enumerate(given)]
    return gaps + default_cadence(touches)[len(gaps) :]


def _gap(entry: object, default: int) -> int:
    number = _number(entry)
    if number is None:
        return default
    low, high = CADENCE_RANGE
    return _round_half_up(min(max(number, low), high))


def _stop_criteria(value: object) -> str:
    text = _fold_and_cut(value, MAX_STOP_CRITERIA) if isinstance(value, str) else ""
    return text or DEFAULT_STOP_CRITERIA


def _number(value: object) -> int | float | None:
    """A JSON number or numeric string as int or float; None for bools, NaN and the rest."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = float(text) if _NUMERIC.fullmatch(text) else None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and not math.isnan(value):
        return value
    return None


def _round_half_up(number: float) -> int:
    # floor(x + 0.5) would round 0.49999999999999994 up; subtracting the floor is exact.
    whole = math.floor(number)
    return whole + 1 if number - whole >= 0.5 else whole


def _fold_and_cut(text: str, limit: int) -> str:
    """Fold whitespace runs to one space, cut to `limit`, and strip what the cut exposed."""
    return " ".join(text.split())[:limit].rstrip()


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 1] + "…"
