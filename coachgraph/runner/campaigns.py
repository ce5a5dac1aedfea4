"""Running campaigns: enrol contacts, tick due threads, apply decisions, report status."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import re
import socket
import uuid
from collections.abc import Generator, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from sqlalchemy import select

from checkpoints.factory import open_checkpointer, open_store
from checkpoints.prune import prune_thread
from checkpoints.threads import campaign_thread_id
from coachgraph.mail.outbox import outcome_counts, resend, settle, unknown_row
from coachgraph.mail.transport import OutgoingEmail, make_transport
from coachgraph.runner.door import ensure_door
from coachgraph.runner.supervision import lift_holds
from coachgraph.store import due_index
from coachgraph.store.audit import append_events
from coachgraph.store.crm import CrmStore, campaigns, enrollments
from coachgraph.store.engine import context_timeouts
from graphs.campaign import CampaignGraph, build_campaign_graph
from nodes.campaign.await_approval import unsendable
from nodes.campaign.schedule_next import due_at, effective_plan
from nodes.campaign.send_touch import why_not_send
from nodes.delegation import MAX_FEEDBACK_CHARS
from nodes.email.review_draft import review_email
from schemas.approval import HumanResponse
from schemas.campaign import CampaignInput, CampaignState
from schemas.context import Context
from schemas.crm import OPT_OUT_FLAG
from schemas.errors import ConfigError, NotFoundError, UserError
from schemas.seats import seat_chart
from schemas.supervision import audit_event, make_report, public_report, report_event
from schemas.values import is_valid_email, iso, normalize_email, now_from

log = logging.getLogger(__name__)

RETRY_BUDGET = 2
"""Failed runs retried on later ticks before the enrollment fails (SPEC §12)."""
BACKOFF = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4))
# Runs that may send checkpoint every step. Not "sync": in langgraph 1.2 a resumed run that
# ends at a fresh interrupt fails under "sync" (its loop waits on a checkpoint future it never
# made), and "sync" would not make sends exactly-once anyway (langgraph issue #8039): the
# outbox row does that.
STEP_DURABILITY: Literal["async"] = "async"
LIVE = ("active", "awaiting_approval", "held")
"""Statuses of a thread that has not ended (a pause or a release applies to these)."""
ENDED_WITH_REASON = ("stopped", "completed", "held", "failed")
"""Statuses whose `stop_reason` says why (a hold's reason, a refused hand-off)."""
RECURSION_LIMIT = 40
"""Steps one run may take: a whole touch with both feedback rounds needs about a dozen."""
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")

CompiledCampaign = CompiledStateGraph[CampaignState, Context, CampaignInput, CampaignState]


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


@dataclass
class CampaignRuntime:
    """A compiled campaign graph with its persistence, for one process."""

    app: CompiledCampaign
    saver: BaseCheckpointSaver[str]
    crm: CrmStore
    context: Context
    owner: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )

    @property
    def lease(self) -> timedelta:
        """How long this process holds a thread it runs."""
        return timedelta(seconds=self.context.lease_seconds)

    def config(self, thread_id: str) -> RunnableConfig:
        """The run config that selects a thread."""
        return {"configurable": {"thread_id": thread_id}}


@contextmanager
def campaign_runtime(
    context: Context, graph: CampaignGraph | None = None
) -> Iterator[CampaignRuntime]:
    """Open the checkpointer and store beside the CRM and compile the campaign graph."""
    crm = CrmStore(context.db_url)
    crm.require_initialised()
    bounds = context_timeouts(context)
    with (
        open_checkpointer(context.db_url, bounds) as saver,
        open_store(context.db_url, bounds) as store,
    ):
        app = (graph or build_campaign_graph()).compile(checkpointer=saver, store=store)
        yield CampaignRuntime(app=app, saver=saver, crm=crm, context=ensure_door(context))


# -- campaigns and enrollment ------------------------------------------------------------


def create_campaign(
    crm: CrmStore,
    *,
    name: str,
    offer: str,
    sender_name: str,
    sender_email: str,
    campaign_id: str | None = None,
) -> str:
    """Create a campaign and return its id (a given id must be new)."""
    if not is_valid_email(sender_email):
        raise UserError(f"--sender-email {sender_email!r} is not an (ASCII) email address")
    for label, value in (("--name", name), ("--offer", offer), ("--sender-name", sender_name)):
        if not value.strip():
            raise UserError(f"{label} must not be empty")
        if _CONTROL.search(value.strip()):
            raise UserError(f"{label} {value!r} holds a line break or control character")
    cid = campaign_id or f"cmp_{uuid.uuid4().hex[:10]}"
    if not _ID.match(cid):
        raise UserError(f"campaign id {cid!r}: use 1-64 letters, digits, '_', '-' or '.'")
    if crm.get_campaign(cid):
        raise UserError(f"campaign {cid!r} already exists")
    with crm.connect(write=True) as conn:
        conn.execute(
            campaigns.insert().values(
                id=cid,
                name=name.strip(),
                offer=offer.strip(),
                sender_name=sender_name.strip(),
                sender_email=normalize_email(sender_email),
                settings="{}",
                created_at=iso(now_from(None)),
            )
        )
    return cid


def enroll(
    crm: CrmStore, campaign_id: str, contact_ids: list[str] | None, now: datetime
) -> tuple[int, int]:
    """One thread per contact (all contacts when None); returns (new, already enrolled)."""
    if crm.get_campaign(campaign_id) is None:
        raise NotFoundError(f"unknown campaign id {campaign_id!r}")
    known = {c["id"] for c in crm.list_contacts()}
    wanted = sorted(known) if contact_ids is None else list(dict.fromkeys(contact_ids))
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise NotFoundError(f"unknown contact id {', '.join(map(repr, unknown))}; nothing enrolled")
    rows = [
        {
            "thread_id": campaign_thread_id(campaign_id, c),
            "campaign_id": campaign_id,
            "contact_id": c,
            "status": "active",
            "next_due_at": iso(now),
            "touches_sent": 0,
            "attempts": 0,
            "enrolled_at": iso(now),
            "updated_at": iso(now),
        }
        for c in wanted
    ]
    added = crm.upsert(enrollments, rows, ["thread_id"], update=False)
    return added, len(rows) - added


# -- running threads ---------------------------------------------------------------------


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
            *(loop.run_in_executor(pool, _advance, rt, tid) for tid in thread_ids)
        )
    for outcome in outcomes:
        _count(report, outcome)
    return report


def _advance(rt: CampaignRuntime, thread_id: str) -> dict[str, Any]:
    """Claim one thread, run it to its next stop, and write the outcome to the due index."""
    claim = due_index.claim(rt.crm, thread_id, rt.owner, rt.lease)
    if claim is None:
        return {"outcome": "skipped"}
    snapshot = rt.app.get_state(rt.config(thread_id))
    before = _touch_count(snapshot.values)
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
            # send_touch finds its outbox row and never sends twice.
            finished = run_thread(rt, thread_id, None)
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
        return _fail(rt, claim, exc)
    if not finished:
        return {"outcome": "released", "thread_id": thread_id}
    return _sync(rt, thread_id, before)


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


def _unapplied(claim: due_index.Claim, interrupt_id: str) -> HumanResponse | None:
    """The decision a dead run was applying to this very interrupt, if there was one."""
    if not claim.pending_decision:
        return None
    recorded = json.loads(claim.pending_decision)
    if recorded["interrupt_id"] != interrupt_id:
        return None
    return cast(HumanResponse, recorded["response"])


def _sync(rt: CampaignRuntime, thread_id: str, before: tuple[int, int]) -> dict[str, Any]:
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


def _touch_count(values: dict[str, Any] | None) -> tuple[int, int]:
    touches = (values or {}).get("touches", [])
    return sum(t["outcome"] == "sent" for t in touches), len(touches)


def _fail(rt: CampaignRuntime, claim: due_index.Claim, exc: Exception) -> dict[str, Any]:
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


# -- approvals ---------------------------------------------------------------------------


def pending_approvals(rt: CampaignRuntime) -> list[dict[str, Any]]:
    """Every draft waiting on a person (SPEC §16 `approvals list --json`)."""
    rows = due_index.list_enrollments(rt.crm, status="awaiting_approval")
    return [item for row in rows if (item := approval_item(rt, row["thread_id"]))]


def approval_item(rt: CampaignRuntime, thread_id: str) -> dict[str, Any] | None:
    """One pending draft with its inbox request, or None when the thread is not waiting."""
    snapshot = rt.app.get_state(rt.config(thread_id))
    if not snapshot.interrupts:
        return None
    values = snapshot.values
    pending = values["pending"]
    request = snapshot.interrupts[0].value[0]
    return {
        "thread_id": thread_id,
        "campaign_id": values["campaign_id"],
        "contact_id": values["contact_id"],
        "touch": pending["touch"],
        "to": pending["to"],
        "subject": pending["subject"],
        "body": pending["body"],
        "review_passed": pending["review_passed"],
        "review_notes": pending["review_notes"],
        "feedback_rounds": pending["feedback_rounds"],
        "request": request,
        "interrupt_id": snapshot.interrupts[0].id,
    }


def waiting_item(rt: CampaignRuntime, thread_id: str) -> dict[str, Any]:
    """The thread's pending draft, or an error naming why there is none."""
    enrollment = due_index.get_enrollment(rt.crm, thread_id)
    if enrollment is None:
        raise NotFoundError(f"unknown thread {thread_id!r} (see `coachgraph approvals list`)")
    if enrollment["status"] == "released":
        raise UserError(f"thread {thread_id} was released: its draft was cancelled")
    if enrollment["campaign_id"] in paused_campaigns(rt.crm):
        raise UserError(
            f"campaign {enrollment['campaign_id']} is paused: "
            f"`coachgraph campaign resume {enrollment['campaign_id']}` first; the draft still waits"
        )
    item = approval_item(rt, thread_id)
    if item is None:
        raise UserError(
            f"thread {thread_id} is not waiting for approval (status: {enrollment['status']})"
        )
    return item


def decide(rt: CampaignRuntime, thread_id: str, response: HumanResponse) -> dict[str, Any]:
    """Resume a waiting thread with a person's decision, at once (a send happens now)."""
    item = waiting_item(rt, thread_id)
    _check_response(item, response)
    check_config(rt.context)
    # While the decision runs the thread is active and due, and the decision is on record:
    # if this process dies mid-run (even mid-send, before the checkpoint took the decision),
    # a tick finishes applying it once the lease lapses.
    recorded = {"interrupt_id": item["interrupt_id"], "response": response}
    claim = due_index.claim(
        rt.crm,
        thread_id,
        rt.owner,
        rt.lease,
        statuses=("awaiting_approval", "active"),
        status="active",
        next_due_at=iso(now_from(rt.context.now)),
        pending_decision=json.dumps(recorded),
    )
    if claim is None:
        raise UserError(f"thread {thread_id} is being run by another process; try again shortly")
    snapshot = rt.app.get_state(rt.config(thread_id))
    if not snapshot.interrupts or snapshot.interrupts[0].id != item["interrupt_id"]:
        _sync(rt, thread_id, _touch_count(snapshot.values))  # give back the lease unchanged
        raise UserError(f"the draft on {thread_id} changed meanwhile; review it again")
    before = _touch_count(snapshot.values)
    try:
        finished = run_thread(rt, thread_id, Command(resume=[response]))
    except ConfigError:  # uncharged and still due: the next tick finishes it once fixed
        due_index.record(rt.crm, thread_id, rt.owner)
        raise
    except Exception as exc:
        result = _fail(rt, claim, exc)
        raise UserError(
            f"decision recorded for {thread_id}, but the run failed ({result['error']}); "
            "the next tick retries it"
        ) from None
    if not finished:
        raise UserError(f"thread {thread_id} was released while the decision ran; nothing more")
    return _sync(rt, thread_id, before) | {"thread_id": thread_id}


def _check_response(item: dict[str, Any], response: HumanResponse) -> None:
    kind = response["type"]
    if kind == "accept" and (
        problems := unsendable(review_email(item["subject"], item["body"]).notes)
    ):
        raise UserError(
            f"draft on {item['thread_id']} cannot be sent as it is ({'; '.join(problems)}): "
            "edit it, send feedback or reject it; the draft still waits"
        )
    if kind == "edit":
        args = response["args"]["args"] if isinstance(response["args"], dict) else {}
        if not str(args.get("subject", "")).strip():
            raise UserError("edit needs a non-empty --subject")
        if not str(args.get("body", "")).strip():
            raise UserError("edit needs a non-empty --body")
        if problems := unsendable(review_email(args["subject"], args["body"]).notes):
            raise UserError(f"edit not accepted ({'; '.join(problems)}); the draft still waits")
    if kind == "response":
        if not str(response["args"] or "").strip():
            raise UserError("respond needs non-empty --feedback")
        if len(str(response["args"])) > MAX_FEEDBACK_CHARS:
            raise UserError(
                f"--feedback is {len(str(response['args']))} characters; "
                f"at most {MAX_FEEDBACK_CHARS} pass to the composer whole"
            )
        if not item["request"]["config"]["allow_respond"]:
            raise UserError(
                f"thread {item['thread_id']} already had {item['feedback_rounds']} rounds of "
                "feedback on this touch: approve, edit or reject it"
            )


# -- reporting and inbound -----------------------------------------------------------------


def status_rows(crm: CrmStore, campaign_id: str | None = None) -> list[dict[str, Any]]:
    """One row per enrollment (SPEC §16 `status --json`)."""
    if campaign_id and crm.get_campaign(campaign_id) is None:
        raise NotFoundError(f"unknown campaign id {campaign_id!r}")
    rows = []
    sends = outcome_counts(crm)
    paused = paused_campaigns(crm)
    for e in due_index.list_enrollments(crm, campaign_id):
        counts = sends.get(e["thread_id"], {"sent": 0, "unknown": 0})
        plan = json.loads(e["plan"]) if e["plan"] else dict(effective_plan({}))  # type: ignore[typeddict-item]
        rows.append(
            {
                "thread_id": e["thread_id"],
                "campaign_id": e["campaign_id"],
                "contact_id": e["contact_id"],
                "status": shown_status(e["status"], e["campaign_id"] in paused),
                "touches_sent": counts["sent"],
                "touches_unknown": counts["unknown"],
                "next_due_at": e["next_due_at"],
                "plan": {
                    k: plan.get(k)
                    for k in ("source", "cadence_days", "max_touches", "tone", "angle")
                },
                "stop_reason": e["stop_reason"],
                "last_report": public_report(json.loads(e["last_report"] or "null")),
                "attempts": e["attempts"],
                "last_error": e["last_error"],
            }
        )
    return rows


def shown_status(status: str, paused: bool) -> str:
    """A live thread of a paused campaign shows `paused`; an ended one shows how it ended."""
    return "paused" if paused and status in LIVE else status


def paused_campaigns(crm: CrmStore) -> set[str]:
    """Ids of the campaigns a person paused."""
    query = select(campaigns.c.id).where(campaigns.c.status == "paused")
    with crm.connect() as conn:
        return set(conn.execute(query).scalars())


def retry_thread(crm: CrmStore, thread_id: str, now: datetime) -> None:
    """Revive a `failed` thread: active, due now, a fresh budget, its draft as it was.

    Raises:
        NotFoundError: no such thread.
        UserError: the thread has not failed.
    """
    if due_index.revive(crm, thread_id, now):
        event = audit_event(
            "decision",
            "person",
            "coach",
            "failed thread revived (`retry`)",
            iso(now),
            thread_id=thread_id,
            decision="retry",
        )
        append_events(crm, [event])
        return
    enrollment = due_index.get_enrollment(crm, thread_id)
    if enrollment is None:
        raise NotFoundError(f"unknown thread {thread_id!r} (see `coachgraph status`)")
    raise UserError(f"thread {thread_id} is {enrollment['status']}, not failed: nothing to retry")


def reconcile(context: Context, key: str, *, delivered: bool) -> dict[str, Any]:
    """A person settles an `unknown` send: delivered, or not (then it is sent once more)."""
    crm = CrmStore(context.db_url)
    row = unknown_row(crm, key)
    now = now_from(context.now)
    if delivered:
        settle(crm, key, "sent", iso(now), "a person confirmed it was delivered")
        return {"idempotency_key": key, "status": "sent", "resent": False}
    check_config(context)
    enrollment = due_index.get_enrollment(crm, row["thread_id"])
    contact_id = enrollment["contact_id"] if enrollment else ""
    if enrollment and enrollment["status"] == "released":
        note = "not delivered; not sent again, the thread was released"
        settle(crm, key, "failed", iso(now), note)
        return {"idempotency_key": key, "status": "failed", "resent": False, "reason": note}
    if reason := why_not_send(crm.standing(contact_id, row["to_email"]), row["to_email"]):
        note = f"not delivered; not sent again, the contact is now {reason}"
        settle(crm, key, "failed", iso(now), note)
        return {"idempotency_key": key, "status": "failed", "resent": False, "reason": note}
    email = _resend_email(crm, row, enrollment, now)
    outcome = resend(crm, make_transport(context), email)
    return {"idempotency_key": key, "status": outcome, "resent": True, "sent_at": iso(now)}


def _resend_email(
    crm: CrmStore, row: dict[str, Any], enrollment: dict[str, Any] | None, now: datetime
) -> OutgoingEmail:
    campaign = crm.get_campaign(enrollment["campaign_id"]) if enrollment else None
    if campaign is None:
        raise UserError(f"outbox row {row['idempotency_key']}: its campaign no longer exists")
    draft = {"to": row["to_email"], "subject": row["subject"], "body": row["body"]}
    return OutgoingEmail.from_campaign(campaign, row["idempotency_key"], draft, now)


def record_inbound(
    crm: CrmStore, contact_id: str, *, kind: str, body: str | None, now: datetime
) -> None:
    """Record a reply, bounce or unsubscribe; the contact's threads stop at their next run."""
    contact = crm.get_contact(contact_id)
    if contact is None:
        raise NotFoundError(f"unknown contact id {contact_id!r}")
    flag = {"reply": "replied", "bounce": "bounced", "unsubscribe": "unsubscribed"}[kind]
    crm.add_messages(
        [
            {
                "contact_id": contact_id,
                "direction": "in",
                "subject": f"({kind})",
                "body": body or "",
                "at": iso(now),
            }
        ]
    )
    crm.set_contact_flags(contact_id, **{flag: True})
    event = audit_event(
        "inbound", "contact", "coach", f"{kind} from contact {contact_id}", iso(now), kind=kind
    )
    append_events(crm, [event | {"metadata": event["metadata"] | {"contact_id": contact_id}}])
    if flag in OPT_OUT_FLAG:  # permanent: no import can lift it (SPEC §5)
        crm.suppress(contact["email"], flag, source="reply command", at=iso(now))
    # Threads waiting on a person keep their draft; send_touch re-checks and stops them.
    with crm.connect(write=True) as conn:
        conn.execute(
            enrollments.update()
            .where(enrollments.c.contact_id == contact_id, enrollments.c.status == "active")
            .values(next_due_at=iso(now))
        )
