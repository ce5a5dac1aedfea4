"""Schemas the model must answer in (one JSON object per call), kept apart from state."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T", bound=BaseModel)


class RolePlanOutput(BaseModel):
    """The `plan_roles` leader's answer; repaired afterwards, so roles stay loose here."""

    model_config = ConfigDict(extra="ignore")

    roles: Any = Field(
        description="Ordered roles to run, each one of: researcher, composer, reviewer."
    )


class DraftOutput(BaseModel):
    """One email draft."""

    model_config = ConfigDict(extra="ignore")

    subject: str = Field(
        max_length=200, description="Subject line, under 80 characters, no placeholders."
    )
    body: str = Field(
        max_length=10_000, description="Plain-text body without signature or unsubscribe line."
    )

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("subject must be one line")
        return value


@dataclass(frozen=True)
class LLMCall:
    """Accounting for one logical call (all its attempts): what it cost and how it ended."""

    purpose: str
    model: str
    ok: bool
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON, for state and the audit log."""
        return asdict(self)


@dataclass(frozen=True)
class LLMResult(Generic[T]):
    """A validated value, or why there is none (`unavailable` when no request was made)."""

    value: T | None
    error: str | None = None
    unavailable: bool = False
    call: LLMCall | None = None

    @property
    def ok(self) -> bool:
        """True when `value` holds a validated answer."""
        return self.value is not None
