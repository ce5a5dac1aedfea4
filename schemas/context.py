"""Per-run context (`context_schema`): flags and settings, defaulting from the environment."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from coachgraph.config.settings import Settings, load_settings


@dataclass(frozen=True, kw_only=True)
class Context:
    """What a graph run may vary without touching state; nodes never read os.environ."""

    campaign_coach_enabled: bool = False
    """AA02 step-0 coach plan (`CAMPAIGN_COACH_ENABLED`)."""
    orchestrator_role_plan: bool = False
    """AA06 `plan_roles` leader (`ORCHESTRATOR_ROLE_PLAN`)."""
    llm_kill_switch: bool = False
    """Every model call returns its fail-open default (`LLM_KILL_SWITCH`)."""
    db_url: str = "sqlite:///./.coachgraph/coachgraph.db"
    """CRM database the nodes read (`COACHGRAPH_DB`)."""
    db_connect_timeout_s: float = 10.0
    """Seconds Postgres may take to accept a connection (`COACHGRAPH_DB_CONNECT_TIMEOUT_S`)."""
    db_statement_timeout_s: float = 60.0
    """Seconds one Postgres statement may run (`COACHGRAPH_DB_STATEMENT_TIMEOUT_S`)."""
    llm_base_url: str = "https://api.deepseek.com"
    """OpenAI-compatible endpoint (`LLM_BASE_URL`)."""
    llm_model: str = "deepseek-v4-flash"
    """Model for the standard tier (`LLM_MODEL`)."""
    llm_model_fast: str | None = None
    """Model for the fast tier (`LLM_MODEL_FAST`); None means `llm_model`."""
    llm_model_strong: str | None = None
    """Model for the strong tier (`LLM_MODEL_STRONG`); None means `llm_model`."""
    langsmith_api_key: SecretStr | None = field(default=None, repr=False)
    """Trace model calls to LangSmith when set (`LANGSMITH_API_KEY`)."""
    langsmith_project: str | None = None
    """LangSmith project for traces (`LANGSMITH_PROJECT`)."""
    llm_timeout_s: float = 30.0
    """Seconds one model request may take (`LLM_TIMEOUT_S`)."""
    llm_max_attempts: int = 3
    """Attempts per model call (`LLM_MAX_ATTEMPTS`)."""
    llm_api_key: SecretStr | None = field(default=None, repr=False)
    """Model key; a SecretStr so it never prints. None means the offline composer."""
    now: str | None = None
    """ISO instant taken as "now" (`COACHGRAPH_NOW`); None means the clock."""
    sender_name: str = "Sam Rivera"
    """Signature on drafts made outside a campaign."""
    sender_company: str = "Coachgraph"
    """Sender's company, for the signature."""
    offer: str = "a 20-minute walkthrough of how teams like yours cut manual follow-up work"
    """What the draft offers."""
    lease_seconds: int = 600
    """How long a run holds its thread's lease (`COACHGRAPH_LEASE_SECONDS`)."""
    transport: str = "file"
    """How approved emails leave: `file` (a maildir) or `smtp` (`COACHGRAPH_TRANSPORT`)."""
    outbox_dir: str = "./.coachgraph/outbox"
    """Where the file transport writes (`COACHGRAPH_OUTBOX_DIR`)."""
    smtp_host: str | None = None
    """SMTP server (`SMTP_HOST`)."""
    smtp_port: int = 587
    """SMTP port (`SMTP_PORT`)."""
    smtp_user: str | None = None
    """SMTP login (`SMTP_USER`)."""
    smtp_password: SecretStr | None = field(default=None, repr=False)
    """SMTP password (`SMTP_PASSWORD`)."""
    smtp_starttls: bool = True
    """Upgrade the SMTP connection with STARTTLS (`SMTP_STARTTLS`)."""

    def __post_init__(self) -> None:
        # A run started with a plain dict (LangGraph Studio, the API) carries the key as str.
        for name in ("llm_api_key", "langsmith_api_key", "smtp_password"):
            if isinstance(value := getattr(self, name), str):
                object.__setattr__(self, name, SecretStr(value))

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> Context:
        """Build a context from validated settings, with per-run overrides on top."""
        s = settings or load_settings()
        values: dict[str, Any] = {
            "campaign_coach_enabled": s.campaign_coach_enabled,
            "orchestrator_role_plan": s.orchestrator_role_plan,
            "llm_kill_switch": s.llm_kill_switch,
            "db_url": s.db_url,
            "db_connect_timeout_s": s.db_connect_timeout_s,
            "db_statement_timeout_s": s.db_statement_timeout_s,
            "llm_base_url": s.llm_base_url,
            "llm_model": s.llm_model,
            "llm_model_fast": s.llm_model_fast,
            "llm_model_strong": s.llm_model_strong,
            "langsmith_api_key": s.langsmith_api_key,
            "langsmith_project": s.langsmith_project,
            "llm_timeout_s": s.llm_timeout_s,
            "llm_max_attempts": s.llm_max_attempts,
            "llm_api_key": s.llm_api_key,
            "now": s.now.isoformat() if s.now else None,
            "sender_name": s.sender_name,
            "sender_company": s.sender_company,
            "offer": s.default_offer,
            "lease_seconds": s.lease_seconds,
            "transport": s.transport,
            "outbox_dir": s.outbox_dir,
            "smtp_host": s.smtp_host,
            "smtp_port": s.smtp_port,
            "smtp_user": s.smtp_user,
            "smtp_password": s.smtp_password,
            "smtp_starttls": s.smtp_starttls,
        }
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown context fields: {sorted(unknown)}")
        values.update(overrides)
        return cls(**values)

    def model_for(self, tier: str) -> str:
        """The model name a tier maps to."""
        by_tier = {"fast": self.llm_model_fast, "strong": self.llm_model_strong}
        return by_tier.get(tier) or self.llm_model

    @property
    def llm_configured(self) -> bool:
        """True when a key is set, i.e. drafts go to the model rather than offline."""
        return self.llm_api_key is not None and bool(self.llm_api_key.get_secret_value())


if TYPE_CHECKING:
    from langgraph.runtime import Runtime


def context_of(runtime: Runtime[Context]) -> Context:
    """The run's context; a run started without one takes every value from the environment."""
    return runtime.context if runtime.context is not None else Context.from_settings()
