"""AA02 coach plan: the model's loose answer schema and the coerced plan the graph stores."""

from __future__ import annotations

from typing import Any, Literal, TypedDict, get_args

from pydantic import BaseModel, ConfigDict, Field

Tone = Literal["warm", "direct", "formal", "casual", "consultative"]
TONES: tuple[Tone, ...] = get_args(Tone)


class CoachPlanOutput(BaseModel):
    """The `coach_plan` model's answer; coerced afterwards, so no value is rejected here."""

    model_config = ConfigDict(extra="ignore")

    angle: Any = Field(
        default=None,
        description="One sentence of at most 200 characters: the angle every touch takes.",
    )
    tone: Any = Field(
        default=None,
        description="One of: warm, direct, formal, casual, consultative.",
    )
    cadence_days: Any = Field(
        default=None,
        description=(
            "List of whole days to wait before each touch (0 for the first), each 0–60, "
            "one entry per touch."
        ),
    )
    max_touches: Any = Field(
        default=None,
        description="Integer 1–6: how many emails the sequence sends at most.",
    )
    stop_criteria: Any = Field(
        default=None,
        description="One sentence: when to stop the sequence early.",
    )


class CoachPlan(TypedDict):
    """A plan that passed `coerce_coach_plan`: plain JSON values, every field in bounds."""

    angle: str
    """Stripped, whitespace-folded, 1–200 characters."""
    tone: Tone
    cadence_days: list[int]
    """Days to wait before each touch, each 0–60; exactly `max_touches` entries."""
    max_touches: int
    """1–6."""
    stop_criteria: str
    """Stripped, whitespace-folded, 1–300 characters."""


class CoachPlanValues(TypedDict):
    """What `coach_plan` stores: a `CoachPlan`, or the fail-open defaults with no angle or tone."""

    angle: str | None
    tone: Tone | None
    cadence_days: list[int]
    max_touches: int
    stop_criteria: str
