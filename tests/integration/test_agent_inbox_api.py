"""The Agent Inbox API, served by uvicorn on loopback and driven by the real langgraph-sdk client.

Each test makes the calls the Agent Inbox UI makes: search interrupted threads of graph
`campaign`, read a thread and its state, resume with a HumanResponse (streamed, as the UI
does for accept, edit and response; a plain run for ignore), and "mark as resolved".
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import (
    AuthenticationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    UnprocessableEntityError,
)
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from coachgraph.demo.run import load_demo_crm
from coachgraph.mail.outbox import list_outbox
from coachgraph.runner.supervision import release, set_paused
from coachgraph.store import due_index
from coachgraph.store.crm import CrmStore
from coachgraph.web.agent_inbox import agent_inbox_app
from coachgraph.web.agent_inbox_threads import ASSISTANT_ID, public_id
from schemas.context import Context
from schemas.values import iso
from tests.integration.campaign_helpers import Campaign, day, start_campaign, thread
from tests.integration.conftest import smtp_context
from tests.integration.live_server import LiveServer
from tests.integration.proc_helpers import ScriptedSmtpServer

pytestmark = pytest.mark.integration

API_KEY = "inbox-key-4c1f0e9b7a"
C02, C04 = thread("cmp1", "c02"), thread("cmp1", "c04")
ACCEPT = {"type": "accept", "args": None}


def mounted(context: Context) -> Starlette:
    """The sub-application where `coachgraph serve` mounts it."""
    return Starlette(routes=[Mount("/agent-inbox", app=agent_inbox_app(context))])


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the developer's shell must not sit between the client and loopback."""
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, ",".join(filter(None, [os.environ.get(var), "127.0.0.1"])))


@pytest.fixture
def waiting(any_db: str, smtp: ScriptedSmtpServer) -> Campaign:
    """Drafts to c02 and c04 waiting on a person; sending goes to the loopback SMTP server."""
    load_demo_crm(any_db)
    context = smtp_context(any_db, smtp).replace(api_key=SecretStr(API_KEY), now=iso(day(0)))
    campaign = start_campaign(context, ["c02", "c04"])
    assert campaign.tick(day(0))["drafted"] == 2
    return campaign


@pytest.fixture
def serve() -> Iterator[Callable[[Context], str]]:
    """Start the mounted app over a context; returns its Agent Inbox deployment URL."""
    servers: list[LiveServer] = []

    def start(context: Context) -> str:
        servers.append(LiveServer().start(mounted(context)))
        return servers[-1].url + "/agent-inbox"

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def inbox(waiting: Campaign, serve: Callable[[Context], str]) -> SyncLangGraphClient:
    """The SDK client as Agent Inbox configures it: the deployment URL and the API key."""
    return get_sync_client(url=serve(waiting.context), api_key=API_KEY)


def interrupt_of(client: SyncLangGraphClient, coach_thread: str) -> dict[str, Any]:
    """The HumanInterrupt Agent Inbox reads from the thread's state (last task, last interrupt)."""
    state = client.threads.get_state(public_id(coach_thread))
    last = state["tasks"][-1]["interrupts"][-1]
    return {"id": last["id"], **last["value"][0]}


def stream(client: SyncLangGraphClient, coach_thread: str, answer: Any) -> list[Any]:
    """Resume as Agent Inbox does for accept, edit and response: a streamed run."""
    parts = client.runs.stream(
        public_id(coach_thread), "campaign", command={"resume": [answer]}, stream_mode="events"
    )
    return list(parts)


def sent_subjects(smtp: ScriptedSmtpServer) -> list[str]:
    return [m.header("Subject") for m in smtp.received]


def test_search_lists_the_waiting_drafts_of_graph_campaign(inbox: SyncLangGraphClient) -> None:
    found: list[Any] = inbox.threads.search(
        status="interrupted", metadata={"graph_id": "campaign"}, limit=10, offset=0
    )
    assert sorted(t["metadata"]["coachgraph_thread_id"] for t in found) == [C02, C04]
    for item in found:
        assert item["thread_id"] == str(uuid.UUID(item["thread_id"]))  # a UUID, as the UI wants
        assert item["status"] == "interrupted"
        [interrupts] = item["interrupts"].values()
        request = interrupts[0]["value"][0]
        assert request["action_request"]["action"] == "send_email"
        assert request["config"]["allow_accept"] and request["description"].startswith(
            "### Touch 1"
        )
    by_assistant = inbox.threads.search(
        status="interrupted", metadata={"assistant_id": ASSISTANT_ID}
    )
    assert len(by_assistant) == 2
    assert inbox.threads.search(status="idle", metadata={"graph_id": "campaign"}) == []
    assert inbox.threads.search(metadata={"graph_id": "other"}) == []
    assert len(inbox.threads.search(limit=1, offset=1)) == 1


def test_a_thread_and_its_state_carry_the_interrupt(inbox: SyncLangGraphClient) -> None:
    public = public_id(C02)
    got: Any = inbox.threads.get(public)
    assert (got["status"], got["metadata"]["contact_id"]) == ("interrupted", "c02")
    state: Any = inbox.threads.get_state(public)
    assert state["next"] == ["await_approval"]
    assert state["checkpoint"]["thread_id"] == public
    assert state["interrupts"][0]["id"] == interrupt_of(inbox, C02)["id"]
    assert (
        state["values"]["pending"]["to"] == interrupt_of(inbox, C02)["action_request"]["args"]["to"]
    )


def test_accept_sends_the_draft_through_smtp(
    inbox: SyncLangGraphClient, waiting: Campaign, smtp: ScriptedSmtpServer
) -> None:
    draft = interrupt_of(inbox, C02)["action_request"]

    parts = stream(inbox, C02, {"type": "accept", "args": draft})

    assert [p.event for p in parts] == ["metadata", "values"]
    assert sent_subjects(smtp) == [draft["args"]["subject"]]
    assert smtp.received[0].rcpt_tos == [draft["args"]["to"]]
    assert inbox.threads.get(public_id(C02))["status"] == "idle"
    [touch] = waiting.state(C02).values["touches"]
    assert (touch["outcome"], touch["edited"]) == ("sent", False)


def test_edit_sends_the_edited_draft(
    inbox: SyncLangGraphClient, waiting: Campaign, smtp: ScriptedSmtpServer
) -> None:
    draft = interrupt_of(inbox, C02)["action_request"]
    edited = {
        "action": "send_email",
        "args": draft["args"] | {"subject": "Reno", "body": "Hi Daniel, short note."},
    }

    parts = stream(inbox, C02, {"type": "edit", "args": edited})

    assert "error" not in [p.event for p in parts]
    assert sent_subjects(smtp) == ["Reno"]
    [touch] = waiting.state(C02).values["touches"]
    assert (touch["outcome"], touch["edited"]) == ("sent", True)


def test_response_recomposes_and_a_new_draft_waits(
    inbox: SyncLangGraphClient, smtp: ScriptedSmtpServer
) -> None:
    before = interrupt_of(inbox, C02)

    stream(inbox, C02, {"type": "response", "args": "Make it more formal"})

    after = interrupt_of(inbox, C02)
    assert after["id"] != before["id"]
    assert after["action_request"]["args"]["body"].startswith("Dear Daniel")
    assert inbox.threads.get(public_id(C02))["status"] == "interrupted"
    assert smtp.received == []


def test_ignore_skips_the_touch_with_a_plain_run(
    inbox: SyncLangGraphClient, waiting: Campaign, smtp: ScriptedSmtpServer
) -> None:
    run = inbox.runs.create(
        public_id(C02), "campaign", command={"resume": [{"type": "ignore", "args": None}]}
    )

    assert (run["status"], run["thread_id"]) == ("success", public_id(C02))
    [touch] = waiting.state(C02).values["touches"]
    assert touch["outcome"] == "skipped"
    assert inbox.threads.get(public_id(C02))["status"] == "idle"
    assert smtp.received == []


def test_mark_as_resolved_skips_the_touch_and_the_sequence_goes_on(
    inbox: SyncLangGraphClient, waiting: Campaign, smtp: ScriptedSmtpServer
) -> None:
    done = inbox.threads.update_state(public_id(C02), None, as_node="__end__")

    assert done["checkpoint"]["thread_id"] == public_id(C02)
    [touch] = waiting.state(C02).values["touches"]
    assert touch["outcome"] == "skipped"
    row = due_index.get_enrollment(CrmStore(waiting.context.db_url), C02)
    assert row is not None and row["status"] == "active" and row["next_due_at"]
    assert smtp.received == []
    with pytest.raises(UnprocessableEntityError, match="mark as resolved"):
        inbox.threads.update_state(public_id(C04), {"pending": None}, as_node="compose")


def test_a_refused_edit_shows_its_reason_and_changes_nothing(
    inbox: SyncLangGraphClient, waiting: Campaign, smtp: ScriptedSmtpServer
) -> None:
    before = waiting.state(C02).values["pending"]
    bad = {"action": "send_email", "args": {"subject": "Hi", "body": "Hi {{first_name}}"}}

    parts = stream(inbox, C02, {"type": "edit", "args": bad})

    assert parts[-1].event == "error"
    assert "edit not accepted (template marker '{{first_name}}'" in parts[-1].data["message"]
    with pytest.raises(ConflictError, match="edit not accepted"):
        inbox.runs.create(
            public_id(C02), "campaign", command={"resume": [{"type": "edit", "args": bad}]}
        )
    snapshot = waiting.state(C02)
    assert snapshot.interrupts and snapshot.values["pending"] == before
    assert smtp.received == [] and list_outbox(CrmStore(waiting.context.db_url)) == []


def test_an_answer_cannot_change_the_recipient_or_accept_other_text(
    inbox: SyncLangGraphClient, smtp: ScriptedSmtpServer
) -> None:
    draft = interrupt_of(inbox, C02)["action_request"]
    moved = {"action": "send_email", "args": draft["args"] | {"to": "someone@else.example"}}
    with pytest.raises(UnprocessableEntityError, match="recipient cannot be changed"):
        inbox.runs.create(
            public_id(C02), "campaign", command={"resume": [{"type": "edit", "args": moved}]}
        )
    retitled = {"action": "send_email", "args": draft["args"] | {"subject": "Other"}}
    with pytest.raises(UnprocessableEntityError, match="differ from the waiting draft"):
        inbox.runs.create(
            public_id(C02), "campaign", command={"resume": [{"type": "accept", "args": retitled}]}
        )
    assert smtp.received == []


def test_a_stale_interrupt_or_an_answered_thread_is_a_conflict(
    inbox: SyncLangGraphClient, smtp: ScriptedSmtpServer
) -> None:
    old = interrupt_of(inbox, C02)["id"]
    stream(inbox, C02, {"type": "response", "args": "shorter please"})

    with pytest.raises(ConflictError, match="already answered"):
        inbox.runs.create(public_id(C02), "campaign", command={"resume": {old: [ACCEPT]}})
    stream(inbox, C04, ACCEPT)
    with pytest.raises(ConflictError, match="not waiting for approval"):
        inbox.runs.create(public_id(C04), "campaign", command={"resume": [ACCEPT]})
    assert len(smtp.received) == 1  # c04's one accept


def test_a_paused_campaign_or_a_released_thread_says_why_nothing_happens(
    inbox: SyncLangGraphClient, waiting: Campaign, smtp: ScriptedSmtpServer
) -> None:
    crm = CrmStore(waiting.context.db_url)
    release(crm, "cmp1", "c04", day(0))
    set_paused(crm, "cmp1", True, day(0))

    parts = stream(inbox, C02, ACCEPT)

    assert parts[-1].event == "error" and "campaign cmp1 is paused" in parts[-1].data["message"]
    assert inbox.threads.get(public_id(C02))["status"] == "interrupted"  # the draft still waits
    assert inbox.threads.get(public_id(C04))["status"] == "idle"
    with pytest.raises(ConflictError, match="was released"):
        inbox.runs.create(public_id(C04), "campaign", command={"resume": [ACCEPT]})
    assert smtp.received == []


def test_history_is_the_latest_state(inbox: SyncLangGraphClient) -> None:
    [latest] = inbox.threads.get_history(public_id(C02))
    assert latest["interrupts"][0]["id"] == interrupt_of(inbox, C02)["id"]


def test_an_unknown_thread_or_assistant_is_not_found(inbox: SyncLangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        inbox.threads.get_state(str(uuid.uuid4()))
    with pytest.raises(NotFoundError):
        inbox.runs.create(str(uuid.uuid4()), "campaign", command={"resume": [ACCEPT]})
    with pytest.raises(NotFoundError, match="Invalid assistant ID"):
        inbox.runs.create(public_id(C02), "agent", command={"resume": [ACCEPT]})


@pytest.mark.parametrize("key", ["wrong-key", None])
def test_a_bad_or_missing_api_key_is_refused_and_changes_nothing(
    waiting: Campaign,
    serve: Callable[[Context], str],
    smtp: ScriptedSmtpServer,
    key: str | None,
) -> None:
    intruder = get_sync_client(url=serve(waiting.context), api_key=key)
    with pytest.raises(AuthenticationError, match="x-api-key"):
        intruder.threads.search(status="interrupted")
    with pytest.raises(AuthenticationError):
        intruder.runs.create(public_id(C02), "campaign", command={"resume": [ACCEPT]})
    with pytest.raises(AuthenticationError):
        intruder.threads.update_state(public_id(C02), None, as_node="__end__")
    assert waiting.state(C02).interrupts and smtp.received == []


def test_without_an_api_key_configured_every_request_is_refused(
    waiting: Campaign, serve: Callable[[Context], str]
) -> None:
    url = serve(waiting.context.replace(api_key=None))
    with pytest.raises(InternalServerError, match="COACHGRAPH_API_KEY is not set"):
        get_sync_client(url=url, api_key=API_KEY).threads.search()


def test_a_browser_preflight_from_the_inbox_origin_is_allowed(
    waiting: Campaign, serve: Callable[[Context], str]
) -> None:
    url = serve(waiting.context)
    answer = httpx.options(
        f"{url}/threads/search",
        headers={
            "Origin": "https://dev.agentinbox.ai",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key,content-type",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
