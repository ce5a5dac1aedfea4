"""Two `coachgraph tick` processes at once never resume the same thread twice (SPEC §9).

Forty threads (the 25 demo contacts and 15 imported ones) are due at T0. Two real tick
processes start together over one database — a SQLite file, then Postgres — and
compose through a scripted OpenAI-compatible server on loopback. That server is the
independent witness: it sees every draft request, tagged with the process that made it
(each child has its own `LLM_MODEL`), so a thread composed twice shows up there whatever
the ticks report. It also holds every draft back until both processes have asked for
one, so the two ticks are certain to overlap rather than merely likely to.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from checkpoints.factory import open_checkpointer, open_store
from coachgraph.demo.run import load_demo_crm
from coachgraph.mail.outbox import list_outbox
from coachgraph.runner.campaigns import create_campaign, enroll
from coachgraph.runner.threads import status_rows
from coachgraph.store.crm import CrmStore
from coachgraph.store.importer import import_file
from schemas.values import iso
from tests.integration.campaign_helpers import T0, thread
from tests.integration.fake_openai import FAKE_API_KEY, FakeOpenAI, HttpError, Reply, Step
from tests.integration.proc_helpers import cli_env, run_json, start

pytestmark = pytest.mark.integration

CAMPAIGN = "cmp1"
DEMO_BLOCKED = {"c03", "c06", "c10", "c17", "c21", "c22", "c24"}
EXTRA = 15
EXTRA_BLOCKED = {
    "x11": "do_not_contact",
    "x12": "bounced",
    "x13": "unsubscribed",
    "x14": "replied",
}
RETENTION_HELD = "x15"
HELD_DOMAIN = "stonebridge-construction.example"
"""The company on the demo's retention watch list: its contacts are held, not stopped."""
"""At Stonebridge Construction, which the demo's retention watch list holds."""
DOMAINS = [
    "northwind-logistics.example",
    "brightpath-analytics.example",
    "cedarcare-clinics.example",
    "ironvale-manufacturing.example",
    "lumenpay.example",
    "harbor-home-goods.example",
    "quill-learning.example",
]
MODELS = ("model-a", "model-b")
"""One per tick process, so each draft request names the process that made it."""
GATE_TIMEOUT_S = 15.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The demo CRM plus EXTRA imported contacts, initialised like `coachgraph init` does."""
    url = (
        f"sqlite:///{tmp_path / 'crm.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    crm = load_demo_crm(url)
    report = import_file(crm, "contacts", _extra_contacts(tmp_path / "extra.csv"))
    assert (report.imported, report.rejected) == (EXTRA, []), report
    with open_checkpointer(url), open_store(url):
        pass  # the checkpointer and store tables exist before any tick starts
    create_campaign(
        crm,
        name="Q4 outreach",
        offer="a 20-minute walkthrough of our scheduling assistant",
        sender_name="Sam Rivera",
        sender_email="sam@seller.example",
        campaign_id=CAMPAIGN,
    )
    assert enroll(crm, CAMPAIGN, None, T0) == (25 + EXTRA, 0)
    return url


def _extra_contacts(path: Path) -> Path:
    flags = ("do_not_contact", "bounced", "unsubscribed", "replied")
    lines = [",".join(("id", "email", "first_name", "last_name", "company_domain", *flags))]
    for n in range(1, EXTRA + 1):
        cid = f"x{n:02d}"
        domain = HELD_DOMAIN if cid == RETENTION_HELD else DOMAINS[n % 7]
        values = [str(EXTRA_BLOCKED.get(cid) == flag).lower() for flag in flags]
        lines.append(",".join((cid, f"pat.{cid}@{domain}", "Pat", f"Extra-{cid}", domain, *values)))
    path.write_text("\n".join(lines) + "\n")
    return path


class GatedDrafts:
    """Answer each draft request with a draft naming its contact, once both ticks asked.

    Until a request has come from each model (each tick process), every draft waits, so
    neither process can finish alone before the other has started claiming threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: set[str] = set()
        self.both_asked = threading.Event()

    def __call__(self, body: dict[str, Any]) -> Step:
        with self._lock:
            self._models.add(str(body.get("model")))
            if self._models >= set(MODELS):
                self.both_asked.set()
        self.both_asked.wait(GATE_TIMEOUT_S)
        data = draft_data(body)
        if data is None:
            return HttpError(500, "fake: only draft requests are expected")
        name = " ".join(filter(None, contact_key(data.get("first_name"), data.get("last_name"))))
        return Reply(
            json.dumps(
                {
                    "subject": f"An idea for {name}",
                    "body": f"Hi {data.get('first_name') or 'there'},\n\n"
                    f"Would a 20-minute walkthrough help {data.get('company')}?",
                }
            )
        )


def draft_data(body: dict[str, Any]) -> dict[str, Any] | None:
    """The DATA block of a draft request (None for any other request)."""
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    user = next((m["content"] for m in body["messages"] if m["role"] == "user"), "")
    if '"subject"' not in system or "\n" not in user:
        return None
    return dict(json.loads(user.split("\n", 1)[1]))


def contact_key(first: str | None, last: str | None) -> tuple[str, str]:
    return (first or "", last or "")


def test_two_ticks_at_once_never_run_one_thread_twice(db: str, tmp_path: Path) -> None:
    crm = CrmStore(db)
    contacts = {c["id"]: c for c in crm.list_contacts()}
    blocked = DEMO_BLOCKED | set(EXTRA_BLOCKED) | {RETENTION_HELD}
    allowed = set(contacts) - blocked
    held = {cid for cid, c in contacts.items() if c["company_domain"] == HELD_DOMAIN}
    by_name = {contact_key(c["first_name"], c["last_name"]): cid for cid, c in contacts.items()}
    assert len(contacts) == len(by_name) == 25 + EXTRA and len(allowed) == 28

    gate = GatedDrafts()
    with FakeOpenAI(responder=gate) as llm:
        base = cli_env(
            db,
            tmp_path,
            LLM_API_KEY=FAKE_API_KEY,
            LLM_BASE_URL=llm.base_url,
            LLM_TIMEOUT_S="30",
            LLM_MAX_ATTEMPTS="1",  # a retried request would look like a second composition
        )
        args = ("tick", "--now", iso(T0), "--concurrency", "4")
        children = [
            start(*args, "--json", env=base | {"LLM_MODEL": m}, cwd=tmp_path) for m in MODELS
        ]
        a, b = (child.wait(timeout=90).json() for child in children)
        drafts = llm.requests_of("draft")
        requests = llm.count

        assert gate.both_asked.is_set(), "the two ticks never overlapped"
        assert a["errors"] == b["errors"] == []
        assert a["resumed"] + b["resumed"] == len(contacts), (a, b)
        assert a["drafted"] + b["drafted"] == len(allowed), (a, b)
        assert a["stopped"] + b["stopped"] == len(blocked - held), (a, b)
        assert a["held"] + b["held"] == len(held), (a, b)
        assert a["sent"] + b["sent"] + a["failed"] + b["failed"] == 0, (a, b)

        # The witness: one draft request per allowed thread, none for a blocked one, and
        # each process composed exactly the threads it says it drafted.
        assert requests == len(drafts), "only draft requests were expected"
        composed = Counter(by_name[contact_key(*_names(r.body))] for r in drafts)
        assert composed == Counter(allowed), {c: n for c, n in composed.items() if n != 1}
        per_model = Counter(r.body["model"] for r in drafts)
        assert per_model == {MODELS[0]: a["drafted"], MODELS[1]: b["drafted"]}, (per_model, a, b)

        # Idempotent at the same instant: a third tick finds nothing due (run beside the
        # listing, which only reads, to save a process start-up).
        third_tick = start(*args, "--json", env=base | {"LLM_MODEL": MODELS[0]}, cwd=tmp_path)
        pending = run_json("approvals", "list", env=base, cwd=tmp_path)
        third = third_tick.wait(timeout=60).json()
        assert third["resumed"] == 0, third
        assert llm.count == requests

        by_thread = Counter(p["thread_id"] for p in pending)
        assert by_thread == Counter(thread(CAMPAIGN, c) for c in allowed)
        for item in pending:
            contact = contacts[item["contact_id"]]
            name = " ".join(filter(None, contact_key(contact["first_name"], contact["last_name"])))
            assert (item["touch"], item["subject"]) == (1, f"An idea for {name}"), item
        statuses = {r["contact_id"]: r["status"] for r in status_rows(crm, CAMPAIGN)}
        expected = {c: "awaiting_approval" if c in allowed else "stopped" for c in contacts}
        assert statuses == expected | dict.fromkeys(held, "held")
        assert list_outbox(crm, ("sending", "sent", "unknown", "failed")) == []


def _names(body: dict[str, Any]) -> tuple[str | None, str | None]:
    data = draft_data(body) or {}
    return data.get("first_name"), data.get("last_name")
