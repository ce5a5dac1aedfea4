"""Procrastinate workers on Postgres run each due thread once, drain on SIGTERM, survive SIGKILL.

The workers are real `coachgraph worker` processes. A scripted OpenAI-compatible server
on loopback is the witness: it sees every draft request, tagged with the worker that made
it (each child has its own `LLM_MODEL`), and it can hold a draft back, so a test knows a
worker is in the middle of a job when it signals it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

import coachgraph.cli.worker  # noqa: F401  (registers `coachgraph worker` on the app)
from checkpoints.factory import open_checkpointer, open_store
from coachgraph.demo.run import load_demo_crm
from coachgraph.mail.outbox import list_outbox
from coachgraph.runner.approvals import pending_approvals
from coachgraph.runner.campaigns import campaign_runtime, create_campaign, enroll
from coachgraph.runner.worker import ADVANCE, Jobs, apply_schema, make_jobs, queue_decision
from coachgraph.store import due_index
from coachgraph.store.crm import CrmStore
from schemas.approval import HumanResponse
from schemas.context import Context
from tests.integration.campaign_helpers import T0, thread
from tests.integration.conftest import Run, one_line_error
from tests.integration.fake_openai import FAKE_API_KEY, FakeOpenAI, HttpError, Reply, Step
from tests.integration.proc_helpers import cli_env

pytestmark = pytest.mark.integration

CAMPAIGN = "cmp1"
ALLOWED = ["c01", "c02", "c04", "c05"]
"""Demo contacts the campaign may email (none blocked, none on the retention watch list)."""
MODELS = ("model-a", "model-b")
DEADLINE_S = 60.0
STALLED_AFTER_S = "2"
LEASE_S = "5"
"""The shortest lease the settings allow: a SIGKILLed worker's lease lapses this fast."""


# -- the witness -------------------------------------------------------------------------


class Drafts:
    """Answer each draft request with a draft naming its contact.

    `hold_first` keeps the first request waiting until `release` is set; `overlap` keeps
    every request waiting until each model (worker) has asked once.
    """

    def __init__(self, *, hold_first: bool = False, overlap: bool = False) -> None:
        self._lock = threading.Lock()
        self._models: set[str] = set()
        self._first = hold_first
        self.overlap = overlap
        self.first_seen = threading.Event()
        self.release = threading.Event()
        self.both_asked = threading.Event()

    def __call__(self, body: dict[str, Any]) -> Step:
        data = draft_data(body)
        if data is None:
            return HttpError(500, "fake: only draft requests are expected")
        with self._lock:
            first, self._first = self._first, False
            self._models.add(str(body.get("model")))
            if self._models >= set(MODELS):
                self.both_asked.set()
        if first:
            self.first_seen.set()
            self.release.wait(DEADLINE_S)
        if self.overlap:
            self.both_asked.wait(15)
        subject = f"An idea for {data.get('first_name')} {data.get('last_name')}"
        body_text = f"Hi {data.get('first_name')},\n\nWould a short walkthrough help?"
        return Reply(json.dumps({"subject": subject, "body": body_text}))


def draft_data(body: dict[str, Any]) -> dict[str, Any] | None:
    """The DATA block of a draft request (None for any other request)."""
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    user = next((m["content"] for m in body["messages"] if m["role"] == "user"), "")
    if '"subject"' not in system or "\n" not in user:
        return None
    return dict(json.loads(user.split("\n", 1)[1]))


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def db(pg_url: str) -> str:
    """The demo CRM on Postgres, initialised like `coachgraph init`, with a campaign enrolled."""
    crm = load_demo_crm(pg_url)
    with open_checkpointer(pg_url), open_store(pg_url):
        pass
    assert apply_schema(pg_url) is True
    create_campaign(
        crm,
        name="Q4 outreach",
        offer="a 20-minute walkthrough of our scheduling assistant",
        sender_name="Sam Rivera",
        sender_email="sam@seller.example",
        campaign_id=CAMPAIGN,
    )
    assert enroll(crm, CAMPAIGN, ALLOWED, T0) == (len(ALLOWED), 0)
    return pg_url


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def defer_tick(jobs: Jobs) -> int:
    """Run the tick job's body here, as a worker would: how many thread jobs it queued."""

    async def run() -> int:
        async with jobs.app.open_async():
            return await jobs.tick()

    return asyncio.run(run())


def job_statuses(db: str) -> Counter[str]:
    """How many `advance_thread` jobs are in each status (succeeded ones are deleted)."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = %s", (ADVANCE,)
        ).fetchall()
    return Counter(str(status) for (status,) in rows)


def statuses(db: str) -> dict[str, str]:
    """Each enrolled contact's status in the due index."""
    rows = due_index.list_enrollments(CrmStore(db), CAMPAIGN)
    return {r["contact_id"]: r["status"] for r in rows}


def wait_for(what: str, condition: Callable[[], bool], timeout: float = DEADLINE_S) -> None:
    """Poll `condition` until it holds; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Worker:
    """A `coachgraph worker` child process, its output kept in files (no pipe to fill)."""

    def __init__(self, env: dict[str, str], cwd: Path, name: str, *args: str) -> None:
        self.log = cwd / f"{name}.log"
        code = "import coachgraph.cli.worker; from coachgraph.cli import main; main()"
        with self.log.open("w") as sink:
            self.popen = subprocess.Popen(
                [sys.executable, "-c", code, "-v", "worker", *args],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.popen.pid, sig)

    def wait(self, timeout: float = DEADLINE_S) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            pytest.fail(f"worker ran over {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Started workers, killed after the test whatever happened."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def worker_env(db: str, tmp_path: Path, llm: FakeOpenAI, model: str) -> dict[str, str]:
    return cli_env(
        db,
        tmp_path,
        LLM_API_KEY=FAKE_API_KEY,
        LLM_BASE_URL=llm.base_url,
        LLM_MODEL=model,
        LLM_TIMEOUT_S="60",
        LLM_MAX_ATTEMPTS="1",  # a retried request would look like a second composition
        COACHGRAPH_LEASE_SECONDS=LEASE_S,
    )


# -- tests ---------------------------------------------------------------------------------


def test_a_worker_on_sqlite_is_refused_in_one_line(cli: Callable[..., Run], tmp_path: Path) -> None:
    run = cli("worker", COACHGRAPH_DB=f"sqlite:///{tmp_path / 'crm.db'}")
    line = one_line_error(run)
    assert "workers need Postgres" in line and "coachgraph tick` from cron" in line


@pytest.mark.postgres
def test_the_schema_applies_once_however_often_and_concurrently_init_runs(pg_url: str) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        installed = list(pool.map(apply_schema, [pg_url] * 4))
    assert sorted(installed) == [False, False, False, True]
    assert apply_schema(pg_url) is False


@pytest.mark.postgres
def test_a_tick_queues_one_job_per_due_thread_and_a_second_tick_nothing(db: str) -> None:
    jobs = make_jobs(Context(db_url=db, llm_api_key=None))
    assert defer_tick(jobs) == len(ALLOWED)
    assert defer_tick(jobs) == 0  # each thread's queueing lock holds while its job waits
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT lock, queueing_lock, args->>'thread_id' FROM procrastinate_jobs"
            " WHERE task_name = %s",
            (ADVANCE,),
        ).fetchall()
    expected = sorted((t, t, t) for t in (thread(CAMPAIGN, c) for c in ALLOWED))
    assert sorted(rows) == expected


@pytest.mark.postgres
def test_two_workers_draft_each_due_thread_exactly_once_and_apply_a_decision(
    db: str, tmp_path: Path, llm: FakeOpenAI, workers: list[Worker]
) -> None:
    drafts = Drafts(overlap=True)
    llm.set_responder(drafts)
    context = Context(db_url=db, llm_api_key=None, outbox_dir=str(tmp_path / "outbox"))
    jobs = make_jobs(context)
    assert defer_tick(jobs) == len(ALLOWED)
    for model in MODELS:
        env = worker_env(db, tmp_path, llm, model)
        workers.append(Worker(env, tmp_path, model, "--concurrency", "2"))

    wait_for("every thread drafted", lambda: set(statuses(db).values()) == {"awaiting_approval"})
    assert drafts.both_asked.is_set(), "the two workers never overlapped"
    requests = llm.requests_of("draft")
    composed = Counter(str(draft_data(r.body)["first_name"]) for r in requests)  # type: ignore[index]
    assert sorted(composed.values()) == [1] * len(ALLOWED), composed
    assert {r.body["model"] for r in requests} == set(MODELS)

    # A decision goes through the thread's own job: the workers send it.
    target = thread(CAMPAIGN, ALLOWED[0])
    with campaign_runtime(context) as rt:
        assert queue_decision(rt, jobs, target, HumanResponse(type="accept", args=None))
    crm = CrmStore(db)
    wait_for("the approved touch sent", lambda: len(list_outbox(crm, ("sent",))) == 1)
    wait_for("the thread recorded", lambda: statuses(db)[ALLOWED[0]] == "active")
    assert [row["thread_id"] for row in list_outbox(crm, ("sent",))] == [target]
    assert llm.count_of("draft") == len(ALLOWED)  # approving composed nothing new

    for worker in workers:
        worker.signal(signal.SIGTERM)
    assert [worker.wait() for worker in workers] == [0, 0]
    assert job_statuses(db) == Counter(), "no job left queued, running or failed"


@pytest.mark.postgres
def test_sigterm_finishes_the_job_held_and_takes_nothing_new(
    db: str, tmp_path: Path, llm: FakeOpenAI, workers: list[Worker]
) -> None:
    drafts = Drafts(hold_first=True)
    llm.set_responder(drafts)
    assert defer_tick(make_jobs(Context(db_url=db, llm_api_key=None))) == len(ALLOWED)
    worker = Worker(worker_env(db, tmp_path, llm, MODELS[0]), tmp_path, "w", "--concurrency", "1")
    workers.append(worker)

    assert drafts.first_seen.wait(DEADLINE_S), "the worker never started a draft"
    worker.signal(signal.SIGTERM)
    wait_for("the stop noticed", lambda: "Stop requested" in worker.log.read_text())
    drafts.release.set()
    assert worker.wait() == 0, worker.log.read_text()[-3000:]

    assert sorted(statuses(db).values()) == ["active"] * (len(ALLOWED) - 1) + ["awaiting_approval"]
    assert llm.count_of("draft") == 1
    assert job_statuses(db) == Counter(todo=len(ALLOWED) - 1)


@pytest.mark.postgres
def test_a_sigkilled_workers_job_is_retried_by_another_after_the_stalled_timeout(
    db: str, tmp_path: Path, llm: FakeOpenAI, workers: list[Worker]
) -> None:
    drafts = Drafts(hold_first=True)
    llm.set_responder(drafts)
    assert defer_tick(make_jobs(Context(db_url=db, llm_api_key=None))) == len(ALLOWED)
    args = ("--concurrency", "1", "--stalled-after", STALLED_AFTER_S)
    env = worker_env(db, tmp_path, llm, MODELS[0])
    doomed = Worker(env, tmp_path, "doomed", *args)
    workers.append(doomed)
    try:
        assert drafts.first_seen.wait(DEADLINE_S), "the first worker never started a draft"
        held = next(c for c, s in statuses(db).items() if _leased(db, c))
        doomed.signal(signal.SIGKILL)
        assert doomed.wait() == -signal.SIGKILL
        (stalled_id,) = _job_ids(db, "doing")  # the dead worker's job, until it is noticed

        workers.append(Worker(env, tmp_path, "rescuer", *args))
        wait_for(
            "every thread drafted", lambda: set(statuses(db).values()) == {"awaiting_approval"}
        )
    finally:
        drafts.release.set()

    composed = Counter(str(draft_data(r.body)["first_name"]) for r in llm.requests_of("draft"))  # type: ignore[index]
    assert sum(composed.values()) == len(ALLOWED) + 1, composed  # the dead worker's draft, lost
    with campaign_runtime(Context(db_url=db, llm_api_key=None)) as rt:
        pending = Counter(item["thread_id"] for item in pending_approvals(rt))
    assert pending == Counter(thread(CAMPAIGN, c) for c in ALLOWED)
    assert held in ALLOWED
    # The dead worker's job was requeued by the stalled-job check and ran (then it is deleted
    # as succeeded), unless a tick had queued another for the thread (then it was aborted).
    wait_for("no job queued or running", lambda: not {"todo", "doing"} & set(job_statuses(db)))
    assert stalled_id not in _job_ids(db, "todo", "doing", "failed")
    assert job_statuses(db)["failed"] == 0


def _job_ids(db: str, *statuses: str) -> list[int]:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT id FROM procrastinate_jobs WHERE task_name = %s AND status::text = ANY(%s)",
            (ADVANCE, list(statuses)),
        ).fetchall()
    return [job_id for (job_id,) in rows]


def _leased(db: str, contact_id: str) -> bool:
    row = due_index.get_enrollment(CrmStore(db), thread(CAMPAIGN, contact_id))
    return bool(row and row["lease_owner"])
