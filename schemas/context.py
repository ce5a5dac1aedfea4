"""The run context: every setting, read from the environment, and overridable per run.

One class serves both jobs (SPEC §3): `Context()` reads the environment and `.env`; a run
may pass some fields (a dict from LangGraph Studio, say) and every field it leaves out is
read from the environment, so a partial context never silently drops a setting. Nodes
never read `os.environ`; they reach the database, mail, clock and model through the door
the runner puts on the context (`Context.with_door`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.values import parse_instant

if TYPE_CHECKING:
    from langgraph.runtime import Runtime

    from schemas.door import Door, DoorFactory

Tier = Literal["fast", "standard", "strong"]

DEFAULT_DB_URL = "sqlite:///./.coachgraph/coachgraph.db"


class Context(BaseSettings):
    """Every knob coachgraph reads from the environment (SPEC §3), and a run's overrides."""

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
    llm_usd_per_mtok_in: float = Field(0.27, ge=0, validation_alias="LLM_USD_PER_MTOK_IN")
    """US dollars per million prompt tokens, for `campaign report`'s cost."""
    llm_usd_per_mtok_out: float = Field(1.10, ge=0, validation_alias="LLM_USD_PER_MTOK_OUT")
    """US dollars per million completion tokens, for `campaign report`'s cost."""

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

    public_url: str | None = Field(None, validation_alias="COACHGRAPH_PUBLIC_URL")
    """Where `coachgraph serve` is reachable (https://…): one-click unsubscribe links point here."""
    secret_key: SecretStr | None = Field(None, validation_alias="COACHGRAPH_SECRET_KEY")
    """The key that signs unsubscribe tokens and web sessions."""
    api_key: SecretStr | None = Field(None, validation_alias="COACHGRAPH_API_KEY")
    """The key the Agent-Inbox-compatible API requires (`x-api-key`); the API is off without it."""
    dkim_domain: str | None = Field(None, validation_alias="DKIM_DOMAIN")
    """Sign outgoing mail with DKIM for this domain (with a selector and a key file)."""
    dkim_selector: str | None = Field(None, validation_alias="DKIM_SELECTOR")
    """The DKIM selector whose public key is published in DNS."""
    dkim_private_key_file: str | None = Field(None, validation_alias="DKIM_PRIVATE_KEY_FILE")
    """PEM file with the DKIM private key."""

    imap_host: str | None = Field(None, validation_alias="IMAP_HOST")
    """The inbound mailbox's IMAP server; none means `inbox poll` has nothing to read."""
    imap_port: int = Field(993, ge=1, le=65535, validation_alias="IMAP_PORT")
    """IMAP port (993 for implicit TLS)."""
    imap_user: str | None = Field(None, validation_alias="IMAP_USER")
    """IMAP login."""
    imap_password: SecretStr | None = Field(None, validation_alias="IMAP_PASSWORD")
    """IMAP password."""
    imap_folder: str = Field("INBOX", validation_alias="IMAP_FOLDER")
    """The folder replies, bounces and complaints arrive in."""
    imap_tls: bool = Field(True, validation_alias="IMAP_TLS")
    """Connect with implicit TLS (off: plain, e.g. a loopback test server)."""

    send_days: str = Field("mon-fri", validation_alias="COACHGRAPH_SEND_DAYS")
    """Days mail may arrive, in each contact's timezone (a campaign may set its own)."""
    send_hours: str = Field("09:00-17:00", validation_alias="COACHGRAPH_SEND_HOURS")
    """Hours mail may arrive, in each contact's timezone (a campaign may set its own)."""
    daily_cap: int = Field(50, ge=1, le=100_000, validation_alias="COACHGRAPH_DAILY_CAP")
    """Sends per sender mailbox per day (a campaign may set its own)."""
    min_gap_s: float = Field(60.0, ge=0, le=86_400, validation_alias="COACHGRAPH_MIN_GAP_S")
    """Seconds between two sends from one mailbox, jittered (a campaign may set its own)."""

    lease_seconds: int = Field(600, ge=5, le=86_400, validation_alias="COACHGRAPH_LEASE_SECONDS")
    """How long a tick or decision holds a thread; a crashed holder's thread waits this long."""
    now: str | None = Field(None, validation_alias="COACHGRAPH_NOW")
    """An ISO instant every command takes as "now" (tests, demos); None means the clock."""
    seats: str | None = Field(None, validation_alias="COACHGRAPH_SEATS")
    """The seat chart (a TOML file) delegations are checked against; None means the shipped one."""

    sender_name: str = Field("Sam Rivera", validation_alias="COACHGRAPH_SENDER_NAME")
    """Signature on drafts made outside a campaign."""
    sender_company: str = Field("Coachgraph", validation_alias="COACHGRAPH_SENDER_COMPANY")
    """Sender's company, for the signature."""
    offer: str = Field(
        "a 20-minute walkthrough of how teams like yours cut manual follow-up work",
        validation_alias="COACHGRAPH_OFFER",
    )
    """What drafts offer when no campaign gives an offer."""

    _door: DoorFactory | None = PrivateAttr(default=None)

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

    @field_validator("now", mode="before")
    @classmethod
    def _iso_instant(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
        if isinstance(value, str):
            return parse_instant(value).isoformat()
        return value

    def replace(self, **changes: Any) -> Context:
        """A copy with some fields changed (validated), keeping the door.

        Raises:
            TypeError: a change names no field.
        """
        if unknown := sorted(set(changes) - set(type(self).model_fields)):
            raise TypeError(f"unknown context fields: {unknown}")
        copy = type(self).model_validate(self.model_dump() | changes)
        copy._door = self._door
        return copy

    def with_door(self, door: DoorFactory) -> Context:
        """A copy whose nodes reach the world through the door `door(context)` builds.

        The door is built from the context each time a node asks, so a copy with another
        `now` (or database) gets a door that sees it.
        """
        copy = self.model_copy()
        copy._door = door
        return copy

    @property
    def has_door(self) -> bool:
        """True when a runner or a test put a door on this context."""
        return self._door is not None

    @property
    def door(self) -> Door:
        """The door the runner filled.

        Raises:
            RuntimeError: no runner gave this context a door.
        """
        if self._door is not None:
            return self._door(self)
        from schemas.door import default_door

        if (door := default_door(self)) is not None:
            return door
        raise RuntimeError(
            "this run's context has no door: run the graph through coachgraph's runner "
            "(or coachgraph.runner.server for LangGraph Studio)"
        )

    def model_for(self, tier: str) -> str:
        """The model name a tier maps to."""
        by_tier = {"fast": self.llm_model_fast, "strong": self.llm_model_strong}
        return by_tier.get(tier) or self.llm_model

    @property
    def llm_configured(self) -> bool:
        """True when a key is set, i.e. drafts go to the model rather than offline."""
        return self.llm_api_key is not None and bool(self.llm_api_key.get_secret_value())


def run_context(given: Context | Mapping[str, Any] | None) -> Context:
    """The settings a run works with: the environment's, with the fields the run gave laid over.

    This is the one place a run's context is filled in. A `Context` a runner or a test built
    is used as it is (door included). A mapping (what `langgraph dev` / LangGraph Studio /
    Agent Inbox send, by field name or by environment name) overrides only the fields it
    names with a value: a null is "not given" (what a blank form field may send), so it
    never wipes a setting the environment makes. Nothing given means the environment.
    """
    if isinstance(given, Context):
        return given
    explicit = {key: value for key, value in (given or {}).items() if value is not None}
    return Context(**explicit)


def context_of(runtime: Runtime[Context]) -> Context:
    """The run's context; a run started without one, or with part of one, fills it from the env."""
    return run_context(cast("Context | Mapping[str, Any] | None", runtime.context))
