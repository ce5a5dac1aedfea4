"""Schemas the model must answer in (one JSON object per call), kept apart from state."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RolePlanOutput(BaseModel):
    """The `plan_roles` leader's answer; repaired afterwards, so roles stay loose here."""

    model_config = ConfigDict(extra="ignore")

    roles: Any = Field(
        description="Ordered roles to run, each one of: researcher, composer, reviewer."
    )


class DraftOutput(BaseModel):
    """One email draft."""

    model_config = ConfigDict(extra="ignore")

    subject: str = Field(description="Subject line, under 80 characters, no placeholders.")
    body: str = Field(description="Plain-text body without signature or unsubscribe line.")
