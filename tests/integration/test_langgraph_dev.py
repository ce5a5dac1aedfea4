"""The campaign graph under a real `langgraph dev` server, driven as Agent Inbox drives it.

The server runs in-memory from the project's `langgraph.json` (paths made absolute, so its
`.langgraph_api` lands in a temporary folder), over a demo CRM in a SQLite file named only by
the environment, sending through a loopback SMTP server. The test talks to it with the
`langgraph_sdk` sync client: threads are the server's UUIDs, runs carry no context, and every
decision is what Agent Inbox sends: `Command(resume=[HumanResponse])` runs, and
`threads.update_state(values=None, as_node="__end__")` for "Mark as resolved".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from coachgraph.demo.run import load_demo_crm
from coachgraph.runner.campaigns import create_campaign
from nodes.campaign.await_approval import RESOLVED
from nodes.campaign.schedule_next import due_at
from schemas.campaign import CampaignState
from schemas.values import parse_instant
from tests.integration.imap_server import free_port
from tests.integration.proc_helpers import HOST, ScriptedSmtpServer, cli_env

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LANGGRAPH = Path(sys.executable).with_name("langgraph")
CAMPAIGN = "cmp1"
ENROLLED_AT = "2026-11-02T09:00:00+00:00"


@dataclass
class Server:
    """A running `langgraph dev` and the SMTP server its sends go to."""

    url: str
    smtp: ScriptedSmtpServer
    client: Any


def server_config(workdir: Path) -> Path:
    """The project's langgraph.json with its paths made absolute (the server resolves them
    against its working directory, where it also keeps its `.langgraph_api` files)."""
    config = json.loads((REPO / "langgraph.json").read_text())
    config["dependencies"] = [str((REPO / d).resolve()) for d in config["dependencies"]]
    config["graphs"] = {
        name: f"{(REPO / spec.split(':')[0]).resolve()}:{spec.split(':')[1]}"
        for name, spec in config["graphs"].items()
    }
    config.pop("env", None)  # the environment below is the whole configuration
    path = workdir / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /ok until the server answers; fail with its log if it exits or never does."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"langgraph dev exited {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/ok", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"langgraph dev did not answer /ok within 90 s:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and everything it started (its process group)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`langgraph dev` over a fresh demo CRM (COACHGRAPH_DB), no LangSmith key, SMTP on loopback."""
    if not LANGGRAPH.exists():
        pytest.skip(f"{LANGGRAPH} missing: install langgraph-cli[inmem] in the venv")
    from langgraph_sdk import get_sync_client

    workdir = tmp_path_factory.mktemp("langgraph_dev")
    db_url = f"sqlite:///{workdir / 'crm.db'}"
    crm = load_demo_crm(db_url)
    create_campaign(
        crm,
        name="Q4 outreach",
        offer="a 20-minute walkthrough of our scheduling assistant",
        sender_name="Sam Rivera",
        sender_email="sam@seller.example",
        campaign_id=CAMPAIGN,
    )
    port = free_port()
    url = f"http://{HOST}:{port}"
    log = workdir / "server.log"
    with ScriptedSmtpServer() as smtp:
        env = cli_env(
            db_url,
            workdir,
            COACHGRAPH_TRANSPORT="smtp",
            SMTP_HOST=smtp.host,
            SMTP_PORT=str(smtp.port),
            SMTP_STARTTLS="false",
            LANGGRAPH_NO_VERSION_CHECK="1",
            LANGSMITH_TRACING="false",
        )
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *(str(LANGGRAPH), "dev", "--no-browser", "--no-reload"),
                    *("--host", HOST, "--port", str(port)),
                    *("--config", str(server_config(workdir))),
                ],
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_up(url, process, log)
            yield Server(url=url, smtp=smtp, client=get_sync_client(url=url))
        finally:
            stop(process)


def start_thread(server: Server, contact_id: str) -> str:
    """A server thread (its UUID) run with no context until the approval interrupt."""
    client = server.client
    thread_id: str = client.threads.create()["thread_id"]
    assert uuid.UUID(thread_id)  # the server's own id, nothing of ours in it
    start = {"campaign_id": CAMPAIGN, "contact_id": contact_id, "enrolled_at": ENROLLED_AT}
    client.runs.wait(thread_id, "campaign", input=start)  # no context: the env's settings
    thread = client.threads.get(thread_id)
    assert thread["status"] == "interrupted", thread["values"]
    return thread_id


def pending_request(server: Server, thread_id: str) -> dict[str, Any]:
    """The Agent Inbox request the thread waits on (as Agent Inbox reads it)."""
    thread = server.client.threads.get(thread_id)
    assert thread["status"] == "interrupted", thread["status"]
    [interrupts] = thread["interrupts"].values()
    request: dict[str, Any] = interrupts[0]["value"][0]
    return request


def respond(
    server: Server, thread_id: str, response: dict[str, Any], **context: Any
) -> dict[str, Any]:
    """Resume as Agent Inbox does: a streamed run with `command.resume = [response]`.

    Agent Inbox sends no context; `context` lets a test send part of one, as Studio does.
    """
    events = server.client.runs.stream(
        thread_id,
        "campaign",
        command={"resume": [response]},
        stream_mode="events",
        context=context or None,
    )
    errors = [part.data for part in events if part.event == "error"]
    assert errors == []
    thread: dict[str, Any] = server.client.threads.get(thread_id)
    return thread


def edit(request: dict[str, Any], **args: str) -> dict[str, Any]:
    """Agent Inbox's edit: the action request with the person's changes."""
    action = request["action_request"]
    return {"type": "edit", "args": {**action, "args": {**action["args"], **args}}}


def sent_to(server: Server, address: str) -> list[str]:
    """Subjects of the messages the SMTP server got for `address`."""
    return [m.header("Subject") for m in server.smtp.received if address in m.rcpt_tos]


def moved_on(thread: dict[str, Any]) -> dict[str, Any]:
    """The values of a thread that skipped its touch and waits for the next one."""
    values: dict[str, Any] = thread["values"]
    assert thread["status"] == "idle" and values["status"] == "active"
    assert [(t["touch"], t["outcome"]) for t in values["touches"]] == [(1, "skipped")]
    assert due_at(cast(CampaignState, values)) > parse_instant(
        values["touches"][0]["at"]
    )  # the next touch is due later
    return values


def test_accept_sends_the_draft(server: Server) -> None:
    thread_id = start_thread(server, "c01")
    request = pending_request(server, thread_id)
    assert request["description"].startswith("### Touch 1 of 6")
    thread = respond(server, thread_id, {"type": "accept", "args": request["action_request"]})
    assert thread["status"] == "idle" and thread["values"]["status"] == "active"
    assert [t["outcome"] for t in thread["values"]["touches"]] == ["sent"]
    to = request["action_request"]["args"]["to"]
    assert sent_to(server, to) == [request["action_request"]["args"]["subject"]]


def test_a_refused_edit_says_why_then_a_good_edit_sends(server: Server) -> None:
    thread_id = start_thread(server, "c02")
    request = pending_request(server, thread_id)
    body = request["action_request"]["args"]["body"].replace("Best,", "Best, {{sender_name}}")
    respond(server, thread_id, edit(request, body=body))
    again = pending_request(server, thread_id)
    assert again["description"].startswith("**Not sent, fix first:** template marker")
    assert again["action_request"] == request["action_request"]
    to = request["action_request"]["args"]["to"]
    assert sent_to(server, to) == []

    thread = respond(server, thread_id, edit(again, subject="Reno, and follow-up work"))
    assert [(t["outcome"], t["edited"]) for t in thread["values"]["touches"]] == [("sent", True)]
    assert sent_to(server, to) == ["Reno, and follow-up work"]


def test_feedback_brings_a_new_draft(server: Server) -> None:
    thread_id = start_thread(server, "c04")
    first = server.client.threads.get(thread_id)["interrupts"]
    respond(server, thread_id, {"type": "response", "args": "Mention the Reno depot, briefly."})
    thread = server.client.threads.get(thread_id)
    assert thread["status"] == "interrupted" and thread["interrupts"] != first
    assert thread["values"]["pending"]["feedback_rounds"] == 1
    assert thread["values"]["feedback"] == "Mention the Reno depot, briefly."
    assert sent_to(server, pending_request(server, thread_id)["action_request"]["args"]["to"]) == []


def test_ignore_skips_the_touch_and_schedules_the_next(server: Server) -> None:
    thread_id = start_thread(server, "c05")
    to = pending_request(server, thread_id)["action_request"]["args"]["to"]
    # Part of a context, with a blank (null) database field as Studio's form sends it: the
    # decision is still audited in the environment's database.
    partial = {"LLM_KILL_SWITCH": True, "COACHGRAPH_DB": None}
    moved_on(respond(server, thread_id, {"type": "ignore", "args": None}, **partial))
    assert sent_to(server, to) == []


def test_mark_as_resolved_skips_the_touch_and_schedules_the_next(server: Server) -> None:
    thread_id = start_thread(server, "c07")
    to = pending_request(server, thread_id)["action_request"]["args"]["to"]
    server.client.threads.update_state(thread_id, None, as_node="__end__")  # Agent Inbox's call
    values = moved_on(server.client.threads.get(thread_id))
    assert RESOLVED in values["last_report"]["summary"]
    assert sent_to(server, to) == []
