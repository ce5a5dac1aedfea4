"""Integration fixtures: a scripted OpenAI-compatible server on loopback, and contexts for it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from coachgraph.cli import main
from coachgraph.demo.run import load_demo_crm
from schemas.context import Context
from tests.integration.fake_openai import FAKE_API_KEY, FakeOpenAI
from tests.integration.proc_helpers import ScriptedSmtpServer


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A started FakeOpenAI with nothing scripted; stopped after the test."""
    # A proxy from the developer's shell must not sit between the client and loopback.
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, ",".join(filter(None, [os.environ.get(var), "127.0.0.1"])))
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_context(
    make_context: Callable[..., Context], fake_llm: FakeOpenAI
) -> Callable[..., Context]:
    """Build a Context over the demo CRM whose model is the fake server.

    Defaults: the fake key, two attempts per call, and a 2 s request timeout. The timeout
    is generous on purpose: the fake answers in milliseconds, so only the tests that
    script a `Delay` ever wait for it, and they pass a small one themselves.
    """

    def make(**overrides: Any) -> Context:
        values: dict[str, Any] = {
            "llm_api_key": SecretStr(FAKE_API_KEY),
            "llm_base_url": fake_llm.base_url,
            "llm_timeout_s": 2.0,
            "llm_max_attempts": 2,
        }
        return make_context(**(values | overrides))

    return make


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    def run(*args: str, **env: str) -> Run:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "argv", ["coachgraph", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def one_line_error(run: Run) -> str:
    assert run.code == 1, run
    assert "Traceback" not in run.err
    lines = [line for line in run.err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, run.err
    return lines[0]


@pytest.fixture
def empty_crm(tmp_path: Path, cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> str:
    """An initialised, empty SQLite CRM as COACHGRAPH_DB."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    monkeypatch.setenv("COACHGRAPH_DB", url)
    assert cli("init").code == 0
    return url


def import_text(cli: Callable[..., Run], folder: Path, kind: str, name: str, body: str) -> Run:
    """Write `body` to `folder/name` exactly as given and run `coachgraph import KIND` on it."""
    path = folder / name
    path.write_text(body, encoding="utf-8", newline="")
    return cli("import", kind, str(path))


@pytest.fixture
def context(any_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    """The demo CRM in a fresh database (SQLite or Postgres); the CLI's environment too."""
    load_demo_crm(any_db)
    outbox_dir = str(tmp_path / "outbox")
    monkeypatch.setenv("COACHGRAPH_DB", any_db)
    monkeypatch.setenv("COACHGRAPH_OUTBOX_DIR", outbox_dir)
    return Context(db_url=any_db, outbox_dir=outbox_dir, llm_api_key=None)


@pytest.fixture
def smtp() -> Iterator[ScriptedSmtpServer]:
    """A scripted SMTP server on loopback (accepts, defers or rejects RCPT, kills clients)."""
    with ScriptedSmtpServer() as server:
        yield server


def smtp_context(db_url: str, smtp: ScriptedSmtpServer) -> Context:
    """A run context over `db_url` that sends through the scripted SMTP server."""
    return Context(
        db_url=db_url,
        llm_api_key=None,
        transport="smtp",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=False,
    )
