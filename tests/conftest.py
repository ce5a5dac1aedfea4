"""Shared fixtures: a real SQLite demo CRM per test, contexts, and a clean environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from coachgraph.demo.run import DEMO_NOW, load_demo_crm
from coachgraph.runner.door import ensure_door
from coachgraph.store.crm import CrmStore
from schemas.context import Context

# Property tests explore new examples on a developer's machine and replay the same ones in
# CI (CI=true), so a red CI run is never a roll of the dice.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots", action="store_true", help="Rewrite graph-shape snapshot files."
    )


# Settings the developer's shell may carry; tests decide these themselves.
_ENV_KEYS = [
    "CAMPAIGN_COACH_ENABLED",
    "ORCHESTRATOR_ROLE_PLAN",
    "LLM_KILL_SWITCH",
    "COACHGRAPH_DB",
    "LLM_API_KEY",
    "DEEPSEEK_API_KEY",
    "LLM_BASE_URL",
    "LLM_MODEL",
    "LANGSMITH_API_KEY",
    "LANGSMITH_TRACING",
    "LANGSMITH_ENDPOINT",
    "LANGCHAIN_TRACING_V2",
    "COACHGRAPH_NOW",
    "COACHGRAPH_OUTBOX_DIR",
    "COACHGRAPH_SENDER_NAME",
    "COACHGRAPH_SENDER_COMPANY",
    "COACHGRAPH_OFFER",
    "LANGSMITH_ENDPOINT",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SMTP_STARTTLS",
    "COACHGRAPH_TRANSPORT",
    "COACHGRAPH_DB_CONNECT_TIMEOUT_S",
    "COACHGRAPH_DB_STATEMENT_TIMEOUT_S",
    "COACHGRAPH_SEATS",
    "LLM_USD_PER_MTOK_IN",
    "LLM_USD_PER_MTOK_OUT",
    "COACHGRAPH_PUBLIC_URL",
    "COACHGRAPH_SECRET_KEY",
    "COACHGRAPH_API_KEY",
    "DKIM_DOMAIN",
    "DKIM_SELECTOR",
    "DKIM_PRIVATE_KEY_FILE",
    "IMAP_HOST",
    "IMAP_PORT",
    "IMAP_USER",
    "IMAP_PASSWORD",
    "IMAP_FOLDER",
    "IMAP_TLS",
    "COACHGRAPH_DAILY_CAP",
    "COACHGRAPH_MIN_GAP_S",
    "COACHGRAPH_SEND_DAYS",
    "COACHGRAPH_SEND_HOURS",
]
ALWAYS_OPEN = {
    "COACHGRAPH_SEND_DAYS": "mon-sun",
    "COACHGRAPH_SEND_HOURS": "00:00-24:00",
    "COACHGRAPH_MIN_GAP_S": "0",
}
"""Tests send when they approve unless they test windows, caps or pacing themselves."""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in _ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    for key, value in ALWAYS_OPEN.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # so a stray .env or ./.coachgraph never leaks in or out


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    """A fresh SQLite file holding the demo CRM; returns its COACHGRAPH_DB URL."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    load_demo_crm(url)
    return url


@pytest.fixture
def crm(demo_db: str) -> CrmStore:
    return CrmStore(demo_db)


@pytest.fixture
def make_context(demo_db: str) -> Callable[..., Context]:
    """Context over the demo CRM at the demo's instant, flags off unless overridden."""

    def make(**overrides: Any) -> Context:
        values: dict[str, Any] = {"db_url": demo_db, "now": DEMO_NOW, "llm_api_key": None}
        return ensure_door(Context(**(values | overrides)))

    return make


@pytest.fixture
def cli_env(demo_db: str) -> Iterator[dict[str, str]]:
    """Environment for running the real `coachgraph` console script against the demo CRM."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_KEYS}
    env["COACHGRAPH_DB"] = demo_db
    env["COACHGRAPH_NOW"] = DEMO_NOW
    yield env


PG_ADMIN_URL = os.environ.get(
    "COACHGRAPH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway Postgres database; skipped with instructions when no server answers."""
    import uuid

    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"PostgreSQL not reachable at {PG_ADMIN_URL} ({str(exc).strip().splitlines()[0]}); "
            "start it or set COACHGRAPH_TEST_PG_URL to an admin URL to run these tests"
        )
    name = f"cg_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        from coachgraph.store.engine import dispose_engines

        dispose_engines()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin2:
            admin2.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL: a SQLite file, then a throwaway Postgres database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'any.db'}"
    return str(request.getfixturevalue("pg_url"))
