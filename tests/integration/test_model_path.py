"""The model path end to end: the real `openai` client against a scripted loopback server.

Nothing here mocks `openai` or `make_llm`: the orchestrator graph runs as in production
and only the server's answers are scripted (see `fake_openai`). Role-plan and draft
requests are told apart by their system prompts, so each can be scripted and counted
on its own.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from checkpoints.factory import open_store
from coachgraph.llm.client import JsonLLM
from coachgraph.runner.drafting import draft_for, orchestrator
from coachgraph.store.crm import CrmStore
from nodes.email.offline_composer import UNSUBSCRIBE_LINE
from nodes.email.prompts import SEQUENCE_RULE
from nodes.email.recall_memory import remember_touch
from schemas.context import Context
from schemas.llm import DraftOutput, RolePlanOutput
from tests.integration.fake_openai import (
    FAKE_API_KEY,
    Delay,
    FakeOpenAI,
    HttpError,
    Raw,
    Reply,
    by_kind,
)

pytestmark = pytest.mark.integration

CONTACT = "c02"
"""Daniel Okafor at Northwind Logistics: allowed, no history, so a first-touch compose."""
COMPANY = "Northwind Logistics"
DEFAULT_PLAN = ["researcher", "composer"]

MODEL_SUBJECT = "Reno, and 340 trucks to keep moving"
MODEL_BODY = (
    "Hi Daniel,\n\nCongratulations on opening the Reno distribution center. "
    "Would a 20-minute call next week be useful?"
)


def plan(*roles: str) -> Reply:
    """A role-plan answer."""
    return Reply(json.dumps({"roles": list(roles)}))


def draft_reply(subject: str = MODEL_SUBJECT, body: str = MODEL_BODY, **usage: int) -> Reply:
    """A draft answer."""
    return Reply(json.dumps({"subject": subject, "body": body}), **usage)


GOOD_DRAFT = draft_reply()
GARBAGE = Reply("Sure! Here is the plan you asked for: researcher, then composer.")


@pytest.fixture
def run(llm_context: Callable[..., Context]) -> Callable[..., dict[str, Any]]:
    """Draft for the test contact with the leader on, unless overridden."""

    def go(**overrides: Any) -> dict[str, Any]:
        return draft_for(CONTACT, llm_context(**({"orchestrator_role_plan": True} | overrides)))

    return go


# -- the role-plan leader ---------------------------------------------------------------


def test_valid_role_plan_is_used(fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]) -> None:
    fake_llm.set_responder(
        by_kind(role_plan=plan("researcher", "composer", "reviewer"), draft=GOOD_DRAFT)
    )

    result = run()

    assert result["graph_meta"]["role_plan"] == ["researcher", "composer", "reviewer"]
    assert result["provenance"]["role_plan"]["source"] == "llm"
    assert "plan_roles" in result["path"]
    assert fake_llm.count_of("role_plan") == 1


def test_plan_with_unknown_duplicate_and_misordered_roles_is_repaired(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    fake_llm.set_responder(
        by_kind(role_plan=plan("composer", "hacker", "researcher", "composer"), draft=GOOD_DRAFT)
    )

    result = run()

    assert result["graph_meta"]["role_plan"] == ["researcher", "composer"]
    prov = result["provenance"]["role_plan"]
    assert prov["source"] == "repaired"
    evidence = " | ".join(prov["evidence"])
    assert "hacker" in evidence
    assert "duplicate" in evidence
    assert "hacker" not in result["path"]


def test_garbage_role_plan_fails_open_after_bounded_attempts(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    fake_llm.set_responder(by_kind(role_plan=GARBAGE, draft=GOOD_DRAFT))

    result = run(llm_max_attempts=3)

    assert result["graph_meta"]["role_plan"] == DEFAULT_PLAN
    prov = result["provenance"]["role_plan"]
    assert prov["source"] == "default"
    assert "fail-open" in prov["reason"]
    assert "bad content" in prov["reason"]
    assert fake_llm.count_of("role_plan") == 3
    assert fake_llm.count_of("draft") == 1


def test_http_500_role_plan_fails_open_without_sdk_retries(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    fake_llm.set_responder(by_kind(role_plan=HttpError(500), draft=GOOD_DRAFT))

    result = run(llm_max_attempts=2)

    assert result["graph_meta"]["role_plan"] == DEFAULT_PLAN
    prov = result["provenance"]["role_plan"]
    assert prov["source"] == "default"
    assert "http 500" in prov["reason"]
    # The SDK's own retries are off: tenacity's two attempts are the only requests.
    assert fake_llm.count_of("role_plan") == 2
    assert {r.headers.get("x-stainless-retry-count") for r in fake_llm.requests} <= {"0", None}


def test_role_plan_timeout_fails_open_after_bounded_attempts(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    # The delay is far past the timeout; stop() cuts it short at teardown.
    fake_llm.set_responder(
        by_kind(role_plan=Delay(30, then=plan("researcher", "composer")), draft=GOOD_DRAFT)
    )

    result = run(llm_timeout_s=0.3, llm_max_attempts=2)

    assert result["graph_meta"]["role_plan"] == DEFAULT_PLAN
    prov = result["provenance"]["role_plan"]
    assert prov["source"] == "default"
    assert "timeout" in prov["reason"]
    assert fake_llm.count_of("role_plan") == 2


def test_transient_500_then_valid_plan_is_retried(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    fake_llm.set_responder(
        by_kind(
            role_plan=[HttpError(500), plan("researcher", "composer", "reviewer")],
            draft=GOOD_DRAFT,
        )
    )

    result = run(llm_max_attempts=3)

    assert result["graph_meta"]["role_plan"] == ["researcher", "composer", "reviewer"]
    assert result["provenance"]["role_plan"]["source"] == "llm"
    assert fake_llm.count_of("role_plan") == 2
    role_call = next(c for c in result["llm_calls"] if c["purpose"] == "role_plan")
    assert role_call["ok"] is True
    assert role_call["attempts"] == 2


def test_kill_switch_makes_no_requests_and_drafts_offline(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    fake_llm.set_responder(by_kind(role_plan=plan("composer"), draft=GOOD_DRAFT))

    result = run(llm_kill_switch=True)

    assert fake_llm.count == 0
    assert result["graph_meta"]["role_plan"] == DEFAULT_PLAN
    prov = result["provenance"]["role_plan"]
    assert prov["source"] == "default"
    assert "kill_switch" in prov["reason"].lower()
    assert result["action"] == "compose"
    assert result["provenance"]["draft"]["source"] == "offline_composer"
    assert result["draft"]["subject"] != MODEL_SUBJECT
    assert result["llm_calls"] == []


def test_leader_flag_off_makes_no_role_plan_request(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    fake_llm.set_responder(by_kind(draft=GOOD_DRAFT))

    result = run(orchestrator_role_plan=False)

    assert fake_llm.count_of("role_plan") == 0
    assert fake_llm.count_of("draft") == 1
    assert "plan_roles" not in result["path"]
    assert result["graph_meta"]["role_plan"] == DEFAULT_PLAN
    assert result["provenance"]["draft"]["source"] == "llm"


# -- the draft --------------------------------------------------------------------------


def test_model_draft_is_signed_and_accounted(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    fake_llm.set_responder(
        by_kind(
            role_plan=plan("researcher", "composer"),
            draft=draft_reply(prompt_tokens=321, completion_tokens=54),
        )
    )

    result = run()

    assert result["action"] == "compose"
    assert result["draft"]["subject"] == MODEL_SUBJECT
    assert result["draft"]["body"].startswith(MODEL_BODY)
    assert result["draft"]["body"].endswith(UNSUBSCRIBE_LINE)
    assert result["provenance"]["draft"]["source"] == "llm"
    assert result["graph_meta"]["review_passed"] is True
    draft_call = next(c for c in result["llm_calls"] if c["purpose"] == "draft:compose")
    assert draft_call["ok"] is True
    assert draft_call["attempts"] == 1
    assert (draft_call["prompt_tokens"], draft_call["completion_tokens"]) == (321, 54)


def test_draft_with_template_marker_is_flagged_not_blocked(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    marked = draft_reply(body="Hi {{first_name}},\n\nWould a short call next week help?")
    fake_llm.set_responder(
        by_kind(role_plan=plan("researcher", "composer", "reviewer"), draft=marked)
    )

    result = run()

    assert result["action"] == "compose"
    assert result["draft"] is not None
    assert result["graph_meta"]["review_passed"] is False
    assert any("{{first_name}}" in note for note in result["graph_meta"]["review_notes"])
    # The planned reviewer asks for one revision, and only one; its notes reach the model.
    drafts = fake_llm.requests_of("draft")
    assert len(drafts) == 2
    assert "{{first_name}}" in drafts[1].message("user")


def test_garbage_draft_falls_back_to_offline_composer(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    fake_llm.set_responder(by_kind(role_plan=plan("researcher", "composer"), draft=GARBAGE))

    result = run(llm_max_attempts=2)

    prov = result["provenance"]["draft"]
    assert prov["source"] == "offline_composer"
    assert "bad content" in prov["reason"]
    assert "not JSON" in prov["reason"]
    assert result["draft"]["body"].endswith(UNSUBSCRIBE_LINE)
    assert result["graph_meta"]["review_passed"] is True
    assert fake_llm.count_of("draft") == 2


def test_requests_use_json_mode_the_configured_model_and_crm_text_as_data(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    fake_llm.set_responder(by_kind(role_plan=plan("researcher", "composer"), draft=GOOD_DRAFT))

    run(llm_model="fake-standard-model")

    requests = fake_llm.requests
    assert [r.kind for r in requests] == ["role_plan", "draft"]
    for request in requests:
        assert request.path == "/v1/chat/completions"
        assert request.body["model"] == "fake-standard-model"
        assert request.body["response_format"] == {"type": "json_object"}
        assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
        assert request.headers["authorization"] == f"Bearer {FAKE_API_KEY}"
    draft_request = fake_llm.requests_of("draft")[0]
    assert COMPANY in draft_request.message("user")
    assert COMPANY not in draft_request.message("system")
    assert "Daniel" in draft_request.message("user")


def test_api_key_never_reaches_logs_or_result(
    fake_llm: FakeOpenAI,
    run: Callable[..., dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Errors and retries on both calls, so the failure logging runs as well.
    fake_llm.set_responder(
        by_kind(
            role_plan=[HttpError(500), plan("researcher", "composer")],
            draft=[GARBAGE, GOOD_DRAFT],
        )
    )
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx", "httpx2", "httpcore", "httpcore2", "coachgraph"):
        caplog.set_level(logging.DEBUG, logger=name)

    result = run(llm_max_attempts=2)

    assert fake_llm.count == 4
    assert "llm call" in caplog.text  # the capture really saw the model path
    assert FAKE_API_KEY not in caplog.text
    assert all(FAKE_API_KEY not in record.getMessage() for record in caplog.records)
    assert FAKE_API_KEY not in json.dumps(result)


# -- JsonLLM on its own -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "schema", "error"),
    [
        pytest.param("", RolePlanOutput, "bad content: empty response", id="empty"),
        pytest.param(None, RolePlanOutput, "bad content: empty response", id="null"),
        pytest.param(
            '["researcher", "composer"]',
            RolePlanOutput,
            "bad content: expected a JSON object, got list",
            id="array",
        ),
        pytest.param(
            '{"subject": "Hello"}',
            DraftOutput,
            "bad content: invalid DraftOutput: body",
            id="schema",
        ),
    ],
)
def test_json_llm_bad_content_ends_after_max_attempts(
    fake_llm: FakeOpenAI, content: str | None, schema: type[Any], error: str
) -> None:
    fake_llm.set_responder(lambda _body: Reply(content, prompt_tokens=10, completion_tokens=2))
    llm = JsonLLM(
        model="fake-model",
        base_url=fake_llm.base_url,
        api_key=FAKE_API_KEY,
        timeout_s=2.0,
        max_attempts=3,
        retry_wait_s=0.01,
    )

    result = llm.complete(system="Answer in JSON.", user="DATA: {}", schema=schema, purpose="test")

    assert result.value is None
    assert not result.unavailable
    assert result.error is not None
    assert result.error.startswith(error)
    assert fake_llm.count == 3
    assert result.call is not None
    assert (result.call.ok, result.call.attempts) == (False, 3)
    assert (result.call.prompt_tokens, result.call.completion_tokens) == (30, 6)


MALFORMED_200 = [
    pytest.param(Raw(b"<html>502 Bad Gateway</html>", content_type="text/html"), id="html"),
    pytest.param(Raw(b"upstream reset"), id="not-json-body"),
    pytest.param(Raw(b'["not", "a", "completion"]'), id="array-body"),
    pytest.param(Raw(b'{"choices": [{"index": 0, "message": null}]}'), id="null-message"),
]


@pytest.mark.parametrize("step", MALFORMED_200)
def test_json_llm_survives_a_malformed_200_body(fake_llm: FakeOpenAI, step: Raw) -> None:
    fake_llm.set_responder(lambda _body: step)
    llm = JsonLLM(
        model="fake-model",
        base_url=fake_llm.base_url,
        api_key=FAKE_API_KEY,
        timeout_s=2.0,
        max_attempts=2,
        retry_wait_s=0.01,
    )

    result = llm.complete(
        system="Answer in JSON.", user="DATA: {}", schema=RolePlanOutput, purpose="test"
    )

    assert result.value is None
    assert result.error and result.error.startswith("bad content")
    assert fake_llm.count == 2


def test_malformed_200_role_plan_fails_open(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    html = Raw(b"<html>502 Bad Gateway</html>", content_type="text/html")
    fake_llm.set_responder(by_kind(role_plan=html, draft=GOOD_DRAFT))

    result = run()

    assert result["graph_meta"]["role_plan"] == DEFAULT_PLAN
    assert result["provenance"]["role_plan"]["source"] == "default"
    assert "bad content" in result["provenance"]["role_plan"]["reason"]


# -- the fake server itself -------------------------------------------------------------


def test_fake_server_stops_while_a_delayed_answer_is_in_flight() -> None:
    server = FakeOpenAI(script=[Delay(60, then=Reply("{}"))]).start()
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=b'{"model": "m", "messages": []}',
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        urllib.request.urlopen(request, timeout=0.2)

    deadline = time.monotonic() + 5
    while server.count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # a loaded machine may not have picked the request up yet
    assert server.count == 1

    started = time.monotonic()
    server.stop()
    server.stop()  # a second stop is a no-op

    assert time.monotonic() - started < 5  # woken, not waited out (the delay is 60 s)


def test_a_multi_line_model_subject_is_bad_content(
    fake_llm: FakeOpenAI, run: Callable[..., dict[str, Any]]
) -> None:
    # A line break in a subject would become header injection once sending exists.
    injected = draft_reply(subject="Hello\r\nBcc: everyone@evil.example")
    fake_llm.set_responder(by_kind(role_plan=plan("researcher", "composer"), draft=injected))

    result = run(llm_max_attempts=2)

    assert result["provenance"]["draft"]["source"] == "offline_composer"
    assert "subject must be one line" in result["provenance"]["draft"]["reason"]
    assert "\n" not in result["draft"]["subject"]


def test_a_follow_up_prompt_carries_its_purpose_the_plan_and_the_facts_already_used(
    fake_llm: FakeOpenAI, llm_context: Callable[..., Context]
) -> None:
    fake_llm.set_responder(by_kind(draft=GOOD_DRAFT))
    context = llm_context()
    first = draft_for(CONTACT, context)
    used = first["graph_meta"]["facts_used"]
    assert used  # the model was given facts, and all of them count as used
    with open_store(context.db_url) as store:
        remember_touch(store, CONTACT, key="t1", subject=MODEL_SUBJECT, facts_used=used)
    with orchestrator(context) as app:
        job = {"contact_id": CONTACT, "touch": 2, "angle": "Less CRM admin", "tone": "warm"}
        second = app.invoke(job, context=context)

    request = fake_llm.requests_of("draft")[-1]
    data = json.loads(request.message("user").split("\n", 1)[1])
    assert (data["touch"], data["purpose"]) == (2, "value")
    assert data["used_facts"] == used and not set(data["facts"]) & set(used)
    assert (data["angle"], data["tone"]) == ("Less CRM admin", "warm")
    assert SEQUENCE_RULE in request.message("system")
    assert second["graph_meta"]["review_passed"] is True  # the same reviewer read it


def test_a_model_reply_to_a_price_question_goes_to_a_person(
    fake_llm: FakeOpenAI, llm_context: Callable[..., Context], crm: CrmStore
) -> None:
    fake_llm.set_responder(by_kind(draft=GOOD_DRAFT))
    inbound = {"direction": "in", "subject": "Pricing", "body": "What does it cost for 12 reps?"}
    crm.add_messages([{"contact_id": CONTACT, "at": "2026-11-01T08:00:00Z"} | inbound])

    result = draft_for(CONTACT, llm_context())

    assert (result["action"], result["provenance"]["draft"]["source"]) == ("reply", "llm")
    assert result["report"]["status"] == "needs_attention"
    assert "pricing question" in result["report"]["summary"]
