"""Ticks: claim each due thread, run it to its next stop, and write the outcome back."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
from collections.abc import Generator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from itertools import repeat
from typing import Any, Literal, cast

from langgraph.types import Command, StateSnapshot

from checkpoints.prune import prune_thread
from coachgraph.mail.transport import make_transport
from coachgraph.runner.campaigns import CampaignRuntime, campaign_runtime
from coachgraph.runner.retries import send_retries
from coachgraph.runner.supervision import lift_holds
from coachgraph.store import due_index
from coachgraph.store.crm import CrmStore
from graphs.campaign import CampaignGraph
from nodes.campaign.schedule_next import due_at, effective_plan
from schemas.approval import HumanResponse
from schemas.campaign import CampaignInput, CampaignState
from schemas.context import Context
from schemas.errors import ConfigError, UserError
from schemas.seats import seat_chart
from schemas.supervision import audit_event, make_report, report_event
from schemas.values import iso, now_from

log = logging.getLogger(__name__)

RETRY_BUDGET = 2
"""Failed runs retried on later ticks before the enrollment fails (SPEC §12)."""


BACKOFF = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4))


# Runs that may send checkpoint every step. Not "sync": in langgraph 1.2 a resumed run that
# ends at a fresh interrupt fails under "sync" (its loop waits on a checkpoint future it never
# made), and "sync" would not make sends exactly-once anyway (langgraph issue #8039): the
# outbox row does that.
STEP_DURABILITY: Literal["async"] = "async"


ENDED_WITH_REASON = ("stopped", "completed", "held", "failed")
"""Statuses whose `stop_reason` says why (a hold's reason, a refused hand-off)."""


RECURSION_LIMIT = 40
APPROVAL_NODE = "await_approval"
"""The campaign graph's node that asks a person (and is asked again after a crash)."""
"""Steps one run may take: a whole touch with both feedback rounds needs about a dozen."""


@dataclass
class TickReport:
    """What one tick did (SPEC §16 `tick --json`)."""

    resumed: int = 0
    drafted: int = 0
    sent: int = 0
    stopped: int = 0
    failed: int = 0
    skipped: int = 0
    completed: int = 0
    held: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    @classmethod
    def merge(cls, parts: list[TickReport]) -> TickReport:
        """One report for the work of several processes."""
        total = cls()
        for part in parts:
            for name, value in asdict(part).items():
                setattr(total, name, getattr(total, name) + value)
        return total


def tick(
    context: Context,
    *,
    concurrency: int = 8,
    processes: int = 1,
    limit: int = 10_000,
    graph: CampaignGraph | None = None,
) -> TickReport:
    """Resume every due thread once: `processes` workers, each `concurrency` threads at a time.

    Graph steps are CPU-bound Python, so threads overlap only model and database waits;
    more processes use more cores. Leases keep any two workers off the same thread.
    """
    if concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    if processes < 1:
        raise UserError("--processes must be at least 1")
    check_config(context)
    crm = CrmStore(context.db_url)
    lift_holds(crm, now_from(context.now))
    send_retries(context, now_from(context.now))
    due = due_index.due_threads(crm, now_from(context.now), limit)
    shares = [share for n in range(processes) if (share := due[n::processes])]
    if len(shares) <= 1 or graph is not None:
        return tick_threads(context, due, concurrency, graph)
    spawn = multiprocessing.get_context("spawn")  # no inherited connections or locks
    with ProcessPoolExecutor(max_workers=len(shares), mp_context=spawn) as pool:
        parts = pool.map(tick_threads, repeat(context), shares, repeat(concurrency))
        return TickReport.merge(list(parts))


def check_config(context: Context) -> None:
    """Fail before any thread is claimed when a setting cannot work, so none is charged.

    Raises:
        ConfigError: e.g. SMTP_USER without SMTP_PASSWORD, SMTP without SMTP_HOST, or a
            seat chart (COACHGRAPH_SEATS) that cannot be read or is invalid.
    """
    make_transport(context)
    seat_chart(context.seats)


def tick_threads(
    context: Context, thread_ids: list[str], concurrency: int, graph: CampaignGraph | None = None
) -> TickReport:
    """Run the given threads in this process, `concurrency` at a time."""
    with campaign_runtime(context, graph) as rt:
        return asyncio.run(_run_threads(rt, thread_ids, concurrency))


async def _run_threads(rt: CampaignRuntime, thread_ids: list[str], concurrency: int) -> TickReport:
    report = TickReport()
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tick") as pool:
        outcomes = await asyncio.gather(
            *(loop.run_in_executor(pool, advance, rt, tid) for tid in thread_ids)
        )
    for outcome in outcomes:
        _count(report, outcome)
    return report


def advance(rt: CampaignRuntime, thread_id: str) -> dict[str, Any]:
    """Claim one thread, run it to its next stop, and write the outcome to the due index."""
    claim = due_index.claim(rt.crm, thread_id, rt.owner, rt.lease)
    if claim is None:
        return {"outcome": "skipped"}
    snapshot = rt.app.get_state(rt.config(thread_id))
    before = touch_counts(snapshot.values)
    finished = True
    try:
        if snapshot.interrupts:
            # Waiting on a person, unless a decision was being applied when its process died
            # before the checkpoint recorded it: then finish applying that decision.
            if (decision := _unapplied(claim, snapshot.interrupts[0].id)) is not None:
                finished = run_thread(rt, thread_id, Command(resume=[decision]))
        elif snapshot.tasks:
            # An earlier run died part-way (possibly mid-send): finish it. Its last step may
            # show no `next` when every task of it saved its writes but the checkpoint after
            # it was never written; resuming applies those writes and goes on. A re-run
            # send_touch finds its outbox row and never sends twice. A decision that died
            # before its answer was saved finds the approval step about to ask again: it
            # is given the recorded answer, or the person would be asked twice.
            decision = _unapplied_at_approval(claim, snapshot)
            finished = run_thread(rt, thread_id, Command(resume=[decision]) if decision else None)
        else:
            start = CampaignInput(
                campaign_id=claim.campaign_id,
                contact_id=claim.contact_id,
                enrolled_at=claim.enrolled_at,
            )
            finished = run_thread(rt, thread_id, start, durability="exit")
    except ConfigError:  # the settings are wrong, not the thread: give it back uncharged
        due_index.record(rt.crm, thread_id, rt.owner)
        raise
    except Exception as exc:  # a failed run is retried on later ticks, up to the budget
        return record_failure(rt, claim, exc)
    if not finished:
        return {"outcome": "released", "thread_id": thread_id}
    return record_outcome(rt, thread_id, before)


def run_thread(
    rt: CampaignRuntime,
    thread_id: str,
    payload: CampaignInput | Command[Any] | None,
    durability: Literal["exit", "async"] = STEP_DURABILITY,
) -> bool:
    """Run a thread to its next stop; False when a release stopped it at a node boundary."""
    config = rt.config(thread_id) | {"recursion_limit": RECURSION_LIMIT}
    steps = rt.app.stream(
        payload, config, context=rt.context, durability=durability, stream_mode="updates"
    )
    with closing(cast(Generator[Any, None, None], steps)):
        for _ in steps:
            if due_index.is_released(rt.crm, thread_id):
                return False
    return True


def _unapplied_at_approval(claim: due_index.Claim, snapshot: StateSnapshot) -> HumanResponse | None:
    """The decision a dead run was applying to the approval its thread is about to re-ask.

    The approval step may be scheduled afresh (a new task, so a new interrupt id) when the
    dead run saved a checkpoint but not the answer; the recorded decision still belongs to
    it when it was for the same touch the thread now waits to send.
    """
    if not claim.pending_decision or not any(t.name == APPROVAL_NODE for t in snapshot.tasks):
        return None
    recorded = json.loads(claim.pending_decision)
    pending = (snapshot.values or {}).get("pending") or {}
    if recorded.get("touch") is None or recorded["touch"] != pending.get("touch"):
        return None
    return cast(HumanResponse, recorded["response"])


def _unapplied(claim: due_index.Claim, interrupt_id: str) -> HumanResponse | None:
    """The decision a dead run was applying to this very interrupt, if there was one."""
    if not claim.pending_decision:
        return None
    recorded = json.loads(claim.pending_decision)
    if recorded["interrupt_id"] != interrupt_id:
        return None
    return cast(HumanResponse, recorded["response"])


def record_outcome(rt: CampaignRuntime, thread_id: str, before: tuple[int, int]) -> dict[str, Any]:
    """Write where the run left the thread to the due index, release the lease, prune."""
    snapshot = rt.app.get_state(rt.config(thread_id))
    values: CampaignState = snapshot.values  # type: ignore[assignment]
    status = "awaiting_approval" if snapshot.interrupts else values.get("status", "active")
    touches = values.get("touches", [])
    plan = effective_plan(values)
    due_index.record(
        rt.crm,
        thread_id,
        rt.owner,
        status=status,
        next_due_at=iso(due_at(values)) if status == "active" else None,
        touches_sent=sum(t["outcome"] != "skipped" for t in touches),
        stop_reason=values.get("stop_reason") if status in ENDED_WITH_REASON else None,
        plan=plan,
        attempts=0,
        last_error=None,
        pending_decision=None,
        last_report=json.dumps(values.get("last_report")),
    )
    if status in ENDED_WITH_REASON:  # an approved touch still waiting for its slot goes too
        with rt.crm.connect(write=True) as conn:
            due_index.withdraw_scheduled(conn, [thread_id], f"the thread is {status}")
    prune_thread(rt.saver, thread_id)
    sent = sum(t["outcome"] == "sent" for t in touches) - before[0]
    outcome: dict[str, Any] = {
        "outcome": status,
        "sent": max(0, sent),
        "progressed": len(touches) != before[1],
    }
    if status == "failed":  # a refused hand-off fails the thread inside the graph
        outcome |= {"thread_id": thread_id, "error": values.get("stop_reason") or "failed"}
    return outcome


def touch_counts(values: dict[str, Any] | None) -> tuple[int, int]:
    """(touches sent, touches sent or skipped) in a thread's state."""
    touches = (values or {}).get("touches", [])
    return sum(t["outcome"] == "sent" for t in touches), len(touches)


def record_failure(rt: CampaignRuntime, claim: due_index.Claim, exc: Exception) -> dict[str, Any]:
    """Charge a failed run to the thread's budget: retry later (audited), or fail with a report."""
    attempts = claim.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:500]
    log.info("thread %s failed (attempt %d): %s", claim.thread_id, attempts, error)
    now = now_from(rt.context.now)
    if attempts > RETRY_BUDGET:
        summary = f"failed after {attempts} attempts: {error}"
        report = make_report("failed", summary, iso(now), "coach", attempts=attempts)
        due_index.record(
            rt.crm,
            claim.thread_id,
            rt.owner,
            status="failed",
            attempts=attempts,
            last_error=error,
            next_due_at=None,
            stop_reason=summary,
            last_report=json.dumps(report),
            audit=[report_event(report, "person", thread_id=claim.thread_id, campaign_id=None)],
        )
        return {"outcome": "failed", "error": error, "thread_id": claim.thread_id}
    retry_at = now + BACKOFF[min(attempts, len(BACKOFF)) - 1]
    retry = audit_event(
        "retry",
        "coach",
        "person",
        f"run failed ({error}); retry {attempts} of {RETRY_BUDGET} at {iso(retry_at)}",
        iso(now),
        thread_id=claim.thread_id,
        attempt=attempts,
        error=error,
    )
    due_index.record(
        rt.crm,
        claim.thread_id,
        rt.owner,
        status="active",
        attempts=attempts,
        last_error=error,
        next_due_at=iso(retry_at),
        audit=[retry],
    )
    return {"outcome": "retry", "error": error, "thread_id": claim.thread_id}


def _count(report: TickReport, outcome: dict[str, Any]) -> None:
    kind = outcome["outcome"]
    if kind == "skipped":
        report.skipped += 1
        return
    report.resumed += 1
    report.sent += outcome.get("sent", 0)
    if kind == "awaiting_approval":
        report.drafted += 1
    elif kind in ("stopped", "released"):
        report.stopped += 1
    elif kind == "completed":
        report.completed += 1
    elif kind == "held":
        report.held += 1
    elif kind in ("failed", "retry"):
        report.failed += 1
        report.errors.append(f"{outcome['thread_id']}: {outcome['error']}")
    elif not outcome.get("progressed"):
        report.skipped += 1
