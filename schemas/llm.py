"""Schemas the model must answer in (one JSON object per call), kept apart from state."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
