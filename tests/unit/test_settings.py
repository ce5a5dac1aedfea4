"""Settings from the environment and `.env`, and the per-run Context built on them (SPEC §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coachgraph.config.settings import load_settings
from schemas.context import DEFAULT_DB_URL, Context
from schemas.errors import UserError
from schemas.values import now_from, parse_instant

FLAGS = [
    ("CAMPAIGN_COACH_ENABLED", "campaign_coach_enabled"),
    ("ORCHESTRATOR_ROLE_PLAN", "orchestrator_role_plan"),
    ("LLM_KILL_SWITCH", "llm_kill_switch"),
]
TRUTHY = ["true", "1", "yes", "on", "TRUE", "Yes"]
FALSY = ["false", "0", "no", "off", "FALSE", "Off"]
SECRET = "sk-test-do-not-print-0123456789"


def test_defaults_with_an_empty_environment() -> None:
    s = load_settings()
    assert (s.campaign_coach_enabled, s.orchestrator_role_plan, s.llm_kill_switch) == (
        False,
        False,
        False,
    )
    assert s.db_url == DEFAULT_DB_URL == "sqlite:///./.coachgraph/coachgraph.db"
    assert s.llm_api_key is None
    assert s.llm_base_url == "https://api.deepseek.com"
    assert s.llm_model == "deepseek-v4-flash"
    assert s.transport == "file"
    assert s.outbox_dir == "./.coachgraph/outbox"
    assert s.smtp_port == 587
    assert s.smtp_starttls is True
    assert s.now is None


@pytest.mark.parametrize("tier", ["fast", "standard", "strong"])
def test_every_tier_defaults_to_the_one_model(tier: str) -> None:
    assert load_settings().model_for(tier) == "deepseek-v4-flash"


def test_tier_models_override_per_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MODEL_FAST", "small-model")
    c = load_settings()
    assert (c.model_for("fast"), c.model_for("standard")) == ("small-model", "deepseek-v4-flash")


@pytest.mark.parametrize(("env", "attr"), FLAGS)
@pytest.mark.parametrize("value", TRUTHY)
def test_flags_read_truthy_values(
    monkeypatch: pytest.MonkeyPatch, env: str, attr: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    assert getattr(load_settings(), attr) is True


@pytest.mark.parametrize(("env", "attr"), FLAGS)
@pytest.mark.parametrize("value", FALSY)
def test_flags_read_falsy_values(
    monkeypatch: pytest.MonkeyPatch, env: str, attr: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    assert getattr(load_settings(), attr) is False


def test_one_flag_does_not_turn_on_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_ROLE_PLAN", "on")
    s = load_settings()
    assert (s.campaign_coach_enabled, s.orchestrator_role_plan, s.llm_kill_switch) == (
        False,
        True,
        False,
    )


@pytest.mark.parametrize(("env", "_attr"), FLAGS)
def test_invalid_flag_is_a_one_line_user_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: str, _attr: str
) -> None:
    monkeypatch.setenv(env, "maybe")
    with pytest.raises(UserError) as info:
        load_settings()
    message = str(info.value)
    assert env in message
    assert "maybe" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("COACHGRAPH_TRANSPORT", "carrier-pigeon"),
        ("SMTP_PORT", "not-a-port"),
        ("SMTP_PORT", "70000"),
        ("LLM_TIMEOUT_S", "-1"),
        ("COACHGRAPH_NOW", "next tuesday"),
    ],
)
def test_other_invalid_settings_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(UserError) as info:
        load_settings()
    message = str(info.value)
    assert env in message
    assert value in message
    assert "\n" not in message


def test_two_invalid_settings_are_both_named_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_ROLE_PLAN", "maybe")
    monkeypatch.setenv("LLM_KILL_SWITCH", "perhaps")
    with pytest.raises(UserError) as info:
        load_settings()
    message = str(info.value)
    assert "ORCHESTRATOR_ROLE_PLAN" in message
    assert "LLM_KILL_SWITCH" in message
    assert "\n" not in message


@pytest.mark.parametrize("env", ["LLM_API_KEY", "DEEPSEEK_API_KEY"])
def test_either_key_variable_fills_the_key(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv(env, SECRET)
    s = load_settings()
    assert s.llm_api_key is not None
    assert s.llm_api_key.get_secret_value() == SECRET
    assert s.llm_configured


@pytest.mark.parametrize("env", ["LLM_API_KEY", "DEEPSEEK_API_KEY"])
def test_the_key_never_prints(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv(env, SECRET)
    s = load_settings()
    context = s
    for text in (repr(s), str(s), repr(context), str(context), repr(s.llm_api_key)):
        assert SECRET not in text
    assert SECRET not in s.model_dump_json()


def test_no_key_means_the_offline_composer() -> None:
    assert not load_settings().llm_configured


def test_empty_key_is_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_API_KEY", "")
    assert not load_settings().llm_configured


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-21T09:00:00", datetime(2026, 11, 21, 9, 0, tzinfo=UTC)),
        ("2026-11-21T09:00:00Z", datetime(2026, 11, 21, 9, 0, tzinfo=UTC)),
        ("2026-11-21T09:00:00+00:00", datetime(2026, 11, 21, 9, 0, tzinfo=UTC)),
        ("2026-11-21T10:00:00+01:00", datetime(2026, 11, 21, 9, 0, tzinfo=UTC)),
    ],
)
def test_coachgraph_now_is_parsed_and_timezone_aware(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: datetime
) -> None:
    monkeypatch.setenv("COACHGRAPH_NOW", raw)
    s = load_settings()
    assert s.now is not None and parse_instant(s.now) == expected
    assert parse_instant(s.now).utcoffset() is not None
    assert now_from(s.now) == expected


def test_naive_now_is_taken_as_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACHGRAPH_NOW", "2026-11-21T09:00:00")
    now = load_settings().now
    assert now is not None and parse_instant(now).utcoffset() == timedelta(0)


def test_without_now_the_clock_is_used_and_aware() -> None:
    before = datetime.now(UTC)
    current = now_from(load_settings().now)
    assert before <= current <= datetime.now(UTC)


def test_dotenv_in_the_working_directory_is_read(tmp_path: Path) -> None:
    assert Path.cwd() == tmp_path
    (tmp_path / ".env").write_text(
        "ORCHESTRATOR_ROLE_PLAN=true\nLLM_MODEL=from-dotenv\nCOACHGRAPH_DB=sqlite:///dotenv.db\n",
        encoding="utf-8",
    )
    s = load_settings()
    assert s.orchestrator_role_plan is True
    assert s.llm_model == "from-dotenv"
    assert s.db_url == "sqlite:///dotenv.db"


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LLM_MODEL=from-dotenv\n", encoding="utf-8")
    monkeypatch.setenv("LLM_MODEL", "from-env")
    assert load_settings().llm_model == "from-env"


def test_invalid_value_in_dotenv_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LLM_KILL_SWITCH=maybe\n", encoding="utf-8")
    with pytest.raises(UserError, match="LLM_KILL_SWITCH"):
        load_settings()


def test_settings_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(Exception, match="frozen"):
        s.llm_model = "other"  # type: ignore[misc]


def test_context_carries_flags_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_COACH_ENABLED", "1")
    monkeypatch.setenv("LLM_KILL_SWITCH", "yes")
    monkeypatch.setenv("COACHGRAPH_DB", "sqlite:///crm.db")
    monkeypatch.setenv("COACHGRAPH_NOW", "2026-11-21T09:00:00Z")
    context = load_settings()
    assert context.campaign_coach_enabled is True
    assert context.orchestrator_role_plan is False
    assert context.llm_kill_switch is True
    assert context.db_url == "sqlite:///crm.db"
    assert context.llm_model == "deepseek-v4-flash"
    assert context.now == "2026-11-21T09:00:00+00:00"


def test_context_defaults_match_settings_defaults() -> None:
    assert load_settings() == Context()


def test_context_overrides_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_ROLE_PLAN", "true")
    monkeypatch.setenv("LLM_MODEL", "from-env")
    context = load_settings().replace(
        orchestrator_role_plan=False, llm_model="override", llm_kill_switch=True
    )
    assert context.orchestrator_role_plan is False
    assert context.llm_model == "override"
    assert context.llm_kill_switch is True


def test_context_uses_given_settings_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLM_MODEL", "from-env")
    given = Context(LLM_MODEL="given")  # type: ignore[call-arg]
    assert given.replace(llm_kill_switch=True).llm_model == "given"


def test_unknown_context_override_raises_type_error() -> None:
    with pytest.raises(TypeError, match="no_such_flag"):
        load_settings().replace(no_such_flag=True)


DB_TIMEOUTS = [
    ("COACHGRAPH_DB_CONNECT_TIMEOUT_S", "db_connect_timeout_s", 10.0),
    ("COACHGRAPH_DB_STATEMENT_TIMEOUT_S", "db_statement_timeout_s", 60.0),
]


@pytest.mark.parametrize(("env", "attr", "default"), DB_TIMEOUTS)
def test_db_timeouts_default_and_reach_the_context(
    monkeypatch: pytest.MonkeyPatch, env: str, attr: str, default: float
) -> None:
    monkeypatch.delenv(env, raising=False)
    assert getattr(load_settings(), attr) == default
    monkeypatch.setenv(env, "2.5")
    assert getattr(load_settings(), attr) == 2.5


@pytest.mark.parametrize(("env", "_attr", "_default"), DB_TIMEOUTS)
@pytest.mark.parametrize("value", ["abc", "0", "-1"])
def test_db_timeouts_must_be_positive_seconds(
    monkeypatch: pytest.MonkeyPatch, env: str, _attr: str, _default: float, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(UserError) as info:
        load_settings()
    message = str(info.value)
    assert f"invalid setting {env}={value!r}" in message
    assert "\n" not in message


def test_a_partial_context_from_studio_takes_every_other_field_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langgraph.graph import StateGraph
    from langgraph.runtime import Runtime
    from typing_extensions import TypedDict

    class State(TypedDict, total=False):
        seen: dict[str, object]

    def look(state: State, runtime: Runtime[Context]) -> State:
        c = runtime.context
        return {"seen": {"leader": c.orchestrator_role_plan, "db": c.db_url, "smtp": c.smtp_host}}

    graph = StateGraph(State, context_schema=Context)
    graph.add_node("look", look)
    graph.set_entry_point("look")
    monkeypatch.setenv("COACHGRAPH_DB", "sqlite:///from-env.db")
    monkeypatch.setenv("SMTP_HOST", "mail.example")

    # LangGraph Studio and the API pass the context as a plain dict of the fields they set.
    out = graph.compile().invoke({}, context={"orchestrator_role_plan": True})

    assert out["seen"] == {"leader": True, "db": "sqlite:///from-env.db", "smtp": "mail.example"}
