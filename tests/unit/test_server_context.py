"""A server run's context: the environment's settings, with what the run gave laid over them.

`langgraph dev` / Studio / Agent Inbox send no context, part of one, or one with nulls for
blank fields; none of these may fall back to the built-in defaults (SPEC §2, §3).
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.runtime import Runtime

from coachgraph.runner.server import campaign, filled
from schemas.context import DEFAULT_DB_URL, Context, context_of, run_context

ENV_DB = "sqlite:////srv/coachgraph/crm.db"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """The server's environment: its own database, the coach on; no .env in the way."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COACHGRAPH_DB", ENV_DB)
    monkeypatch.setenv("CAMPAIGN_COACH_ENABLED", "true")
    monkeypatch.delenv("COACHGRAPH_NOW", raising=False)


@pytest.mark.parametrize("given", [None, {}])
def test_no_context_takes_every_setting_from_the_environment(given: Any) -> None:
    context = run_context(given)
    assert context.db_url == ENV_DB != DEFAULT_DB_URL
    assert context.campaign_coach_enabled is True


@pytest.mark.parametrize("key", ["now", "COACHGRAPH_NOW"])
def test_a_partial_context_overrides_only_what_it_names(key: str) -> None:
    context = run_context({key: "2026-11-02T09:00:00Z"})
    assert context.now == "2026-11-02T09:00:00+00:00"
    assert context.db_url == ENV_DB and context.campaign_coach_enabled is True


def test_explicit_fields_win_over_the_environment() -> None:
    context = run_context({"COACHGRAPH_DB": "sqlite:////other.db", "campaign_coach_enabled": False})
    assert context.db_url == "sqlite:////other.db"
    assert context.campaign_coach_enabled is False


def test_a_null_is_not_a_value_and_never_wipes_a_setting() -> None:
    context = run_context({"COACHGRAPH_DB": None, "LLM_API_KEY": None})
    assert context.db_url == ENV_DB


def test_a_built_context_is_used_as_it_is() -> None:
    built = Context(_env_file=None, db_url="sqlite:////built.db")
    assert run_context(built) is built


@pytest.mark.parametrize("given", [None, {}, {"COACHGRAPH_NOW": "2026-11-02T09:00:00Z"}])
def test_context_of_fills_what_the_runtime_lacks(given: Any) -> None:
    assert context_of(Runtime(context=given)).db_url == ENV_DB


def test_server_graphs_fill_the_context_before_langgraph_builds_it() -> None:
    kwargs = filled({"context": {"LLM_KILL_SWITCH": True}, "stream_mode": "updates"})
    assert isinstance(kwargs["context"], Context)
    assert kwargs["context"].llm_kill_switch is True and kwargs["context"].db_url == ENV_DB
    assert kwargs["stream_mode"] == "updates"
    assert filled({})["context"].db_url == ENV_DB


def test_the_server_schema_offers_no_built_in_defaults_to_send_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("schemas.door._default_door", None)  # campaign() installs the runner's
    schema = campaign().get_context_jsonschema()
    assert schema is not None and "COACHGRAPH_DB" in schema["properties"]
    assert all("default" not in prop for prop in schema["properties"].values())
