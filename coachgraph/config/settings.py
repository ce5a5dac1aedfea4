"""Validated settings from the environment and an optional `.env` file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.errors import UserError

Tier = Literal["fast", "standard", "strong"]

DEFAULT_DB_URL = "sqlite:///./.coachgraph/coachgraph.db"


class Settings(BaseSettings):
    """Every knob coachgraph reads from the environment (SPEC §3)."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, frozen=True
    )

    campaign_coach_enabled: bool = Field(False, validation_alias="CAMPAIGN_COACH_ENABLED")
    """AA02 step-0 coach plan."""
    orchestrator_role_plan: bool = Field(False, validation_alias="ORCHESTRATOR_ROLE_PLAN")
    """AA06 `plan_roles` leader."""
    llm_kill_switch: bool = Field(False, validation_alias="LLM_KILL_SWITCH")
    """Short-circuit every model call to its fail-open default."""

    db_url: str = Field(DEFAULT_DB_URL, validation_alias="COACHGRAPH_DB")
    """SQLite path/URL or a `postgresql://` URL."""
    db_connect_timeout_s: float = Field(
        10.0, gt=0, le=3600, validation_alias="COACHGRAPH_DB_CONNECT_TIMEOUT_S"
    )
    """Seconds Postgres may take to accept a connection (libpq waits whole seconds, at least 2)."""
    db_statement_timeout_s: float = Field(
        60.0, gt=0, le=86_400, validation_alias="COACHGRAPH_DB_STATEMENT_TIMEOUT_S"
    )
    """Seconds one Postgres statement may run before the server cancels it."""

    llm_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("LLM_API_KEY", "DEEPSEEK_API_KEY")
    )
    """Key for the OpenAI-compatible endpoint; none means the offline composer."""
    llm_base_url: str = Field("https://api.deepseek.com", validation_alias="LLM_BASE_URL")
    """OpenAI-compatible endpoint."""
    llm_model: str = Field("deepseek-v4-flash", validation_alias="LLM_MODEL")
    """Model for the `standard` tier (and the others unless set)."""
    llm_model_fast: str | None = Field(None, validation_alias="LLM_MODEL_FAST")
    """Model for the `fast` tier; defaults to `LLM_MODEL`."""
    llm_model_strong: str | None = Field(None, validation_alias="LLM_MODEL_STRONG")
    """Model for the `strong` tier; defaults to `LLM_MODEL`."""
    llm_timeout_s: float = Field(30.0, gt=0, le=600, validation_alias="LLM_TIMEOUT_S")
    """Seconds one model request may take."""
    llm_max_attempts: int = Field(3, ge=1, le=6, validation_alias="LLM_MAX_ATTEMPTS")
    """Attempts per model call, first included (transient errors, unparseable JSON)."""

    langsmith_api_key: SecretStr | None = Field(None, validation_alias="LANGSMITH_API_KEY")
    """Tracing and eval upload when set."""
    langsmith_project: str | None = Field(None, validation_alias="LANGSMITH_PROJECT")
    """LangSmith project name."""
    langsmith_endpoint: str = Field(
        "https://api.smith.langchain.com", validation_alias="LANGSMITH_ENDPOINT"
    )
    """LangSmith API (a self-hosted instance's URL, for example)."""

    transport: Literal["file", "smtp"] = Field("file", validation_alias="COACHGRAPH_TRANSPORT")
    """How approved emails leave: a maildir of `.eml` files, or SMTP."""
    outbox_dir: str = Field("./.coachgraph/outbox", validation_alias="COACHGRAPH_OUTBOX_DIR")
    """Where the file transport writes."""
    smtp_host: str | None = Field(None, validation_alias="SMTP_HOST")
    """SMTP server host."""
    smtp_port: int = Field(587, ge=1, le=65535, validation_alias="SMTP_PORT")
    """SMTP server port."""
    smtp_user: str | None = Field(None, validation_alias="SMTP_USER")
    """SMTP login."""
    smtp_password: SecretStr | None = Field(None, validation_alias="SMTP_PASSWORD")
    """SMTP password."""
    smtp_starttls: bool = Field(True, validation_alias="SMTP_STARTTLS")
    """Upgrade the SMTP connection with STARTTLS."""

    lease_seconds: int = Field(600, ge=5, le=86_400, validation_alias="COACHGRAPH_LEASE_SECONDS")
    """How long a tick or decision holds a thread; a crashed holder's thread waits this long."""
    now: datetime | None = Field(None, validation_alias="COACHGRAPH_NOW")
    """An ISO instant every command takes as "now" (tests, demos)."""

    sender_name: str = Field("Sam Rivera", validation_alias="COACHGRAPH_SENDER_NAME")
    """Signature on drafts made outside a campaign."""
    sender_company: str = Field("Coachgraph", validation_alias="COACHGRAPH_SENDER_COMPANY")
    """Sender's company, for the signature."""
    default_offer: str = Field(
        "a 20-minute walkthrough of how teams like yours cut manual follow-up work",
        validation_alias="COACHGRAPH_OFFER",
    )
    """What drafts offer when no campaign gives an offer."""

    @field_validator("llm_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError as exc:
            raise ValueError(f"not a URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not host:
            raise ValueError("expected an http(s) URL such as https://api.deepseek.com")
        return value

    @field_validator("now")
    @classmethod
    def _now_is_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation failure into a one-line `UserError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise UserError(describe_settings_error(exc)) from None


def describe_settings_error(exc: ValidationError) -> str:
    """Name each bad setting by its environment variable, with pydantic's reason."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "settings"
        field = Settings.model_fields.get(name)
        alias = field.validation_alias if field else None
        env = alias if isinstance(alias, str) else name.upper()
        value = err.get("input")
        parts.append(f"invalid setting {env}={value!r}: {err['msg']}")
    return "; ".join(parts)
