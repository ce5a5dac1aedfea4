"""With a LangSmith key, model calls are traced to the configured endpoint (a loopback stand-in)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from coachgraph.llm.client import _langsmith
from coachgraph.runner.drafting import draft_for
from schemas.context import Context
from tests.integration.fake_openai import FAKE_API_KEY, FakeOpenAI, Reply, by_kind

pytestmark = pytest.mark.integration

LANGSMITH_KEY = "lsv2-test-not-a-real-key"


class _Recorder(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append((self.path, dict(self.headers), self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_PATCH = do_POST

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def langsmith_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    received: list[Any] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("LANGSMITH_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    _langsmith.cache_clear()
    try:
        yield received
    finally:
        _langsmith.cache_clear()
        server.shutdown()
        server.server_close()


def test_model_calls_are_traced_without_leaking_the_model_key(
    fake_llm: FakeOpenAI,
    langsmith_endpoint: list[Any],
    llm_context: Callable[..., Context],
) -> None:
    fake_llm.set_responder(
        by_kind(
            role_plan=Reply(json.dumps({"roles": ["researcher", "composer"]})),
            draft=Reply(json.dumps({"subject": "Hello", "body": "Hi Daniel, a quick idea."})),
        )
    )
    context = llm_context(
        orchestrator_role_plan=True,
        langsmith_api_key=SecretStr(LANGSMITH_KEY),
        langsmith_project="coachgraph-tests",
    )

    result = draft_for("c02", context)
    _langsmith(LANGSMITH_KEY).flush()

    assert result["provenance"]["role_plan"]["source"] == "llm"
    assert langsmith_endpoint, "no trace reached the LangSmith endpoint"
    bodies = b"".join(body for _path, _headers, body in langsmith_endpoint)
    assert b"coachgraph-tests" in bodies
    assert FAKE_API_KEY.encode() not in bodies
    assert all(
        h.get("x-api-key") == LANGSMITH_KEY for _p, h, _b in langsmith_endpoint if "x-api-key" in h
    )


def test_tracing_failures_never_break_a_model_call(
    fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, llm_context: Callable[..., Context]
) -> None:
    monkeypatch.setenv("LANGSMITH_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    _langsmith.cache_clear()
    fake_llm.set_responder(
        by_kind(
            role_plan=Reply(json.dumps({"roles": ["composer"]})),
            draft=Reply(json.dumps({"subject": "Hello", "body": "Hi Daniel."})),
        )
    )
    context = llm_context(orchestrator_role_plan=True, langsmith_api_key=SecretStr(LANGSMITH_KEY))
    result = draft_for("c02", context)
    _langsmith.cache_clear()
    assert result["graph_meta"]["role_plan"] == ["composer"]
    assert result["provenance"]["draft"]["source"] == "llm"
