"""Workers on Postgres (SPEC §9): Procrastinate jobs tick, advance one thread each, recover stalls.

The cron `tick` runs every due thread in one process. Here the same work is split into
Procrastinate jobs that any number of `coachgraph worker` processes share through one
Postgres: a periodic `tick` job defers one `advance_thread` job per due thread, whose
`lock` and `queueing_lock` are the thread id, so a thread never runs twice at once and is
never queued twice. The due index's lease still guards each run, so a worker, a cron tick
and a person's decision in the CLI never run one thread together either.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from procrastinate import App, BaseRetryStrategy, PsycopgConnector, RetryStrategy
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Job, Status
from procrastinate.retry import RetryDecision
from procrastinate.schema import SchemaManager
from sqlalchemy import select

from checkpoints.database import is_postgres, redact_url, sqlalchemy_url
from coachgraph.runner.approvals import record_decision
from coachgraph.runner.campaigns import CampaignRuntime, campaign_runtime
from coachgraph.runner.retries import send_retries
from coachgraph.runner.supervision import lift_holds
from coachgraph.runner.tick import advance, check_config
from coachgraph.store import due_index
from coachgraph.store.crm import CrmStore, enrollments
from schemas.approval import HumanResponse
from schemas.context import Context
from schemas.errors import UserError
from schemas.values import iso, now_from, parse_instant

log = logging.getLogger(__name__)

T = TypeVar("T")

TICK = "coachgraph.tick"
ADVANCE = "coachgraph.advance_thread"
RECOVER = "coachgraph.retry_stalled"

BACKOFF = RetryStrategy(max_attempts=4, exponential_wait=5)
"""A job that raises (the database went away, a setting broke) runs again after 5, 25,
125 and 625 s, then fails. A failed graph run does not raise: `advance` charges it to the
thread's own retry budget (SPEC §12)."""

BUSY_ATTEMPTS = 20
"""Times an `advance_thread` job waits for another holder's lease to lapse before failing."""

_SCHEMA_LOCK = 0x636F_6163_6867
"""Advisory lock id that serialises `apply_schema` across concurrent `coachgraph init`s."""


class ThreadBusy(Exception):
    """The thread is due, but another process holds its lease until `free_at`."""

    def __init__(self, thread_id: str, free_at: datetime) -> None:
        super().__init__(f"thread {thread_id} is leased until {iso(free_at)}")
        self.free_at = free_at


class WaitForLease(BaseRetryStrategy):
    """Retry a busy thread once its lease lapses; any other error with `BACKOFF`."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        """When (if at all) the failed job runs again."""
        if isinstance(exception, ThreadBusy):
            return (
                RetryDecision(retry_at=exception.free_at) if job.attempts < BUSY_ATTEMPTS else None
            )
        return BACKOFF.get_retry_decision(exception=exception, job=job)


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker paces itself."""

    stalled_after_s: float = 60.0
    """A worker silent this long is taken for dead: its running jobs go back to the queue."""
    tick_cron: str = "* * * * *"
    """When the periodic tick is deferred (once a minute, across all workers)."""
    limit: int = 10_000
    """Due threads one tick defers at most."""

    @property
    def heartbeat_s(self) -> float:
        """How often a live worker says so (well inside `stalled_after_s`)."""
        return max(0.5, self.stalled_after_s / 4)

    @property
    def recover_cron(self) -> str:
        """How often to look for stalled jobs: twice per `stalled_after_s`, at most each minute."""
        every = int(max(1, min(60, self.stalled_after_s // 2)))
        return "* * * * *" if every >= 60 else f"* * * * * */{every}"


def require_postgres(db_url: str) -> None:
    """Refuse SQLite in one line: workers share their queue through Postgres."""
    if not is_postgres(db_url):
        raise UserError(
            f"workers need Postgres: COACHGRAPH_DB is {redact_url(db_url)}; "
            "on SQLite run `coachgraph tick` from cron"
        )


def conninfo(db_url: str) -> str:
    """The libpq URL of a Postgres `COACHGRAPH_DB` (without SQLAlchemy's driver suffix)."""
    return sqlalchemy_url(db_url).replace("postgresql+psycopg://", "postgresql://", 1)


def apply_schema(db_url: str) -> bool:
    """Install Procrastinate's tables once (idempotent, safe to race); True when installed now."""
    require_postgres(db_url)
    with psycopg.connect(conninfo(db_url)) as conn:  # one transaction: all or nothing
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is not None and row[0] is not None:
            return False
        conn.execute(SchemaManager.get_schema())
    return True


@dataclass
class Jobs:
    """The Procrastinate app of one process, with the tasks that run coachgraph's work.

    Only a worker process fills `runtime` and `pool`: the campaign graph is compiled once
    per process and every job reuses it. Other processes only defer jobs.
    """

    app: App
    context: Context
    settings: WorkerSettings
    runtime: CampaignRuntime | None = None
    pool: ThreadPoolExecutor | None = None
    tasks: dict[str, Any] = field(default_factory=dict)

    async def tick(self) -> int:
        """Lift holds, resend soft bounces, and defer one job per due thread; how many were new."""
        due = await self._blocking(self._due_threads)
        return sum([await self.deferadvance(thread_id) for thread_id in due])

    async def deferadvance(self, thread_id: str) -> bool:
        """Queue the thread's job unless one is already queued; True when queued now."""
        job = self.tasks[ADVANCE].configure(lock=thread_id, queueing_lock=thread_id)
        try:
            await job.defer_async(thread_id=thread_id)
        except procrastinate_errors.AlreadyEnqueued:
            return False
        return True

    def deferadvance_sync(self, thread_id: str) -> bool:
        """`deferadvance` for a process with no event loop (the CLI); opens the app itself."""
        job = self.tasks[ADVANCE].configure(lock=thread_id, queueing_lock=thread_id)
        with self.app.open():
            try:
                job.defer(thread_id=thread_id)
            except procrastinate_errors.AlreadyEnqueued:
                return False
        return True

    async def advance(self, thread_id: str) -> str:
        """Run one due thread to its next stop; the outcome, or ThreadBusy to retry later."""
        return await self._blocking(self._advance_once, thread_id)

    async def retry_stalled(self) -> int:
        """Give the running jobs of workers silent for `stalled_after_s` to others; how many."""
        manager = self.app.job_manager
        stalled = list(
            await manager.get_stalled_jobs(seconds_since_heartbeat=self.settings.stalled_after_s)
        )
        for job in stalled:
            try:
                await manager.retry_job(job)
            except procrastinate_errors.UniqueViolation:
                # A tick queued another job for the thread meanwhile (the stalled one held no
                # queueing lock while it ran): that one does the work, this one is superseded.
                log.info("stalled job %s superseded by a queued one; aborting it", job.id)
                await manager.finish_job(job, status=Status.ABORTED, delete_job=False)
        return len(stalled)

    def _due_threads(self) -> list[str]:
        check_config(self.context)
        crm = CrmStore(self.context.db_url)
        now = now_from(self.context.now)
        lift_holds(crm, now)
        send_retries(self.context, now)
        due = due_index.due_threads(crm, now, self.settings.limit)
        busy = _leased(crm, due)
        return [thread_id for thread_id in due if thread_id not in busy]

    def _advance_once(self, thread_id: str) -> str:
        if self.runtime is None:
            raise RuntimeError("advance_thread runs only in a worker (run_worker)")
        if not _still_due(self.runtime, thread_id):
            return "not due"
        outcome = advance(self.runtime, thread_id)
        if outcome["outcome"] == "skipped":
            _raise_if_leased(self.runtime.crm, thread_id)
        return str(outcome["outcome"])

    async def _blocking(self, func: Callable[..., T], *args: Any) -> T:
        """Graph runs and the CRM are synchronous: run them off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, func, *args)


def _still_due(rt: CampaignRuntime, thread_id: str) -> bool:
    """A job queued earlier may find its thread already run by another: then it does nothing."""
    row = due_index.get_enrollment(rt.crm, thread_id)
    if row is None or row["status"] != "active" or row["next_due_at"] is None:
        return False
    return bool(row["next_due_at"] <= iso(now_from(rt.context.now)))


def _leased(crm: CrmStore, thread_ids: list[str]) -> set[str]:
    """Threads someone is running now: their run records the next due time when it ends."""
    wall = iso(datetime.now(UTC))  # leases run on the real clock, like `due_index.claim`
    query = select(enrollments.c.thread_id).where(
        enrollments.c.thread_id.in_(thread_ids), enrollments.c.lease_expires_at >= wall
    )
    with crm.connect() as conn:
        return set(conn.execute(query).scalars())


def _raise_if_leased(crm: CrmStore, thread_id: str) -> None:
    """A due thread leased by someone else (a dead worker, a decision) is retried at expiry."""
    row = due_index.get_enrollment(crm, thread_id)
    expires = row and row["lease_expires_at"]
    # The same test `due_index.claim` makes, on whole-second ISO strings: the lease is free
    # once the clock's second is past the lease's.
    if row and row["status"] == "active" and expires and expires >= iso(datetime.now(UTC)):
        raise ThreadBusy(thread_id, parse_instant(expires) + timedelta(seconds=1))


def make_jobs(context: Context, settings: WorkerSettings | None = None) -> Jobs:
    """The Procrastinate app over COACHGRAPH_DB, with coachgraph's tasks on it."""
    require_postgres(context.db_url)
    app = App(connector=PsycopgConnector(conninfo=conninfo(context.db_url)))
    jobs = Jobs(app=app, context=context, settings=settings or WorkerSettings())

    @app.periodic(cron=jobs.settings.tick_cron, periodic_id="tick")
    @app.task(name=TICK, queueing_lock=TICK, retry=BACKOFF)
    async def tick(timestamp: int) -> int:
        return await jobs.tick()

    @app.task(name=ADVANCE, retry=WaitForLease())
    async def advance_thread(thread_id: str) -> str:
        return await jobs.advance(thread_id)

    @app.periodic(cron=jobs.settings.recover_cron, periodic_id="recover")
    @app.task(name=RECOVER, lock=RECOVER, queueing_lock=RECOVER)
    async def retry_stalled(timestamp: int) -> int:
        return await jobs.retry_stalled()

    jobs.tasks = {TICK: tick, ADVANCE: advance_thread, RECOVER: retry_stalled}
    return jobs


def queue_decision(
    rt: CampaignRuntime,
    jobs: Jobs,
    thread_id: str,
    response: HumanResponse,
    expected_interrupt: str | None = None,
) -> bool:
    """Record a person's decision and let a worker apply it, through the thread's own job.

    The decision is checked like `decide` checks it, then kept on the enrollment (active,
    due now) exactly as `decide` keeps it while it runs; `advance` finds it there and
    resumes the interrupt with it. True when a job was queued now (False: one was queued).
    """
    record_decision(rt, thread_id, response, expected_interrupt, statuses=("awaiting_approval",))
    due_index.record(rt.crm, thread_id, rt.owner)  # hand the lease to whichever job runs it
    return jobs.deferadvance_sync(thread_id)


def run_worker(context: Context, concurrency: int, settings: WorkerSettings | None = None) -> None:
    """Work jobs until SIGTERM or SIGINT, then finish the ones held and take nothing new."""
    if concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    check_config(context)
    jobs = make_jobs(context, settings)
    apply_schema(context.db_url)  # a worker started before `coachgraph init` still works
    with (
        campaign_runtime(context) as runtime,
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="job") as pool,
    ):
        jobs.runtime, jobs.pool = runtime, pool
        jobs.app.run_worker(
            name=f"coachgraph@{socket.gethostname()}:{os.getpid()}",
            concurrency=concurrency,
            shutdown_graceful_timeout=None,  # finish what is held, however long it takes
            update_heartbeat_interval=jobs.settings.heartbeat_s,
            stalled_worker_timeout=jobs.settings.stalled_after_s,
            delete_jobs="successful",
        )
