"""The campaign half of `coachgraph demo`: 30 simulated days of ticks, decisions and replies."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from checkpoints.threads import campaign_thread_id
from coachgraph.demo.mail import (
    deliver_bounce,
    deliver_out_of_office,
    deliver_reply,
    one_click_unsubscribe,
    read_mailbox,
)
from coachgraph.mail.errors import SendRefused
from coachgraph.mail.outbox import list_outbox
from coachgraph.runner.approvals import decide, pending_approvals
from coachgraph.runner.campaigns import CampaignRuntime, campaign_runtime, create_campaign, enroll
from coachgraph.runner.door import CrmDoor
from coachgraph.runner.reports import attention_rows
from coachgraph.runner.supervision import release
from coachgraph.runner.threads import status_rows
from coachgraph.runner.tick import tick
from coachgraph.store.audit import AUDIT_COLUMNS, audit_rows
from coachgraph.store.crm import CrmStore
from coachgraph.store.retention import remove_retention
from schemas.approval import HumanResponse
from schemas.context import Context
from schemas.door import Delivery, Send
from schemas.errors import UserError
from schemas.values import iso, now_from, parse_instant

DEMO_DAYS = 33
TICKS_PER_DAY = 4
"""Ticks every six hours from 09:00 UTC: each contact's window (Mon–Fri 09:00–17:00 in
their own timezone, from Sydney to Los Angeles) sees at least one of them."""
DEMO_SETTINGS = {
    "window": {"days": "mon-fri", "hours": "09:00-17:00", "timezone": "UTC"},
    "daily_cap": 12,
    "min_gap_s": 0,
}
"""Send windows as shipped, and a daily cap small enough to show: 12 sends a day."""
"""Long enough for the default cadence (days 0, 4, 11, 18, 25, 32) to finish."""
CAMPAIGN_ID = "demo-q4"


@dataclass(frozen=True)
class Decision:
    """What the demo's reviewer does with one contact's draft on one day."""

    response: HumanResponse
    label: str


EDITED_BODY = (
    "Hi Tom,\n\nCongratulations on the Reno distribution center. Teams adding a site often "
    "find follow-ups slipping; we help keep them on time.\n\nWould a 20-minute call next "
    "week be useful?\n\nBest,\nSam"
)
# The demo's reviewer approves every draft, except these, to show each path once.
DECISIONS: dict[tuple[int, str], Decision] = {
    (0, "c04"): Decision(
        HumanResponse(
            type="edit",
            args={
                "action": "send_email",
                "args": {
                    "subject": "Dispatch follow-ups at Northwind",
                    "body": EDITED_BODY,
                },
            },
        ),
        "edited",
    ),
    (0, "c05"): Decision(
        HumanResponse(type="ignore", args="Not before their board meeting"), "rejected"
    ),
    (0, "c07"): Decision(
        HumanResponse(type="response", args="Please make it shorter and more formal."), "feedback"
    ),
}
# Supervision, shown once each: a mail server that stays down (the thread fails after its
# retry budget and waits in `attention`), the retention team letting a held company go (its
# thread resumes by itself), and releases of an idle thread and of one waiting on a person.
OUTAGE_CONTACT = "c14"
HOLD_ENDS = (10, "stonebridge-construction.example")
RELEASES: dict[int, str] = {6: "c16", 11: "c15"}
"""Day → contact whose thread a person releases after that day's tick."""
# Inbound mail, arriving the morning of the day (before that day's ticks): through the local
# mailbox the inbox poll reads, except the unsubscribe, a one-click POST from a mail provider.
INBOUND: dict[int, list[tuple[str, str, str | None]]] = {
    2: [("c08", "reply", "Interested. Could we talk on Thursday?")],
    5: [("c11", "bounce", None)],
    6: [("c09", "out-of-office", None)],
    9: [("c12", "one-click unsubscribe", None)],
}


class OutageDoor(CrmDoor):
    """The runner's door, with one contact's mail server refusing every delivery."""

    def deliver(self, send: Send) -> Delivery:
        """Refuse the outage contact's mail, as a server that is down would; send the rest."""
        contact = self.crm.get_contact(OUTAGE_CONTACT)
        if contact is not None and send.to == contact["email"]:
            raise SendRefused("451 mail server unavailable (simulated outage)")
        return super().deliver(send)


def run_campaign_demo(context: Context, console: Console) -> dict[str, Any]:
    """Enrol every contact, run 30 days of ticks and decisions, and summarise each thread."""
    crm = CrmStore(context.db_url)
    context = context.with_door(OutageDoor)
    start = now_from(context.now)
    create_campaign(
        crm,
        name="Q4 outreach (demo)",
        offer=context.offer,
        sender_name=context.sender_name,
        sender_email="sam@coachgraph.example",
        campaign_id=CAMPAIGN_ID,
        settings=DEMO_SETTINGS,
    )
    enrolled, _ = enroll(crm, CAMPAIGN_ID, None, start)
    console.print(
        f"\n[bold]Campaign {CAMPAIGN_ID}[/]: {enrolled} threads, "
        f"{DEMO_DAYS} simulated days from {iso(start)}"
    )
    days = []
    with console.status("simulating…") as status:
        for n in range(DEMO_DAYS + 1):
            status.update(f"simulating day {n}/{DEMO_DAYS}…")
            when = start + timedelta(days=n)
            day_context = context.replace(now=iso(when))
            days.append(_one_day(crm, day_context, n))
            if line := _day_line(days[-1]):
                console.print(line, highlight=False)
    threads = _threads(crm, context)
    console.print(_summary_table(threads))
    outbox = list_outbox(crm)
    counts = Counter(r["status"] for r in outbox)
    stops = Counter(t["stop_reason"] for t in threads if t["status"] == "stopped")
    console.print(
        f"sent {counts['sent']} emails ({counts['unknown']} ambiguous) to "
        f"{len({r['to'] for r in outbox})} contacts; stopped: "
        + (", ".join(f"{k} {v}" for k, v in sorted(stops.items())) or "none")
        + f"; outbox: {context.outbox_dir}",
        highlight=False,
    )
    waiting = attention_rows(crm)
    console.print(_attention_table(waiting))
    excerpt = _audit_excerpt(crm)
    console.print(_audit_table(excerpt))
    return {
        "days": days,
        "threads": threads,
        "sent": counts["sent"],
        "unknown": counts["unknown"],
        "attention": waiting,
        "audit_excerpt": excerpt,
    }


def _one_day(crm: CrmStore, context: Context, n: int) -> dict[str, Any]:
    now = now_from(context.now)
    arrived = [_arrive(crm, context, c, kind, body, now) for c, kind, body in INBOUND.get(n, [])]
    supervision = []
    if n == HOLD_ENDS[0]:
        remove_retention(crm, HOLD_ENDS[1], now - timedelta(hours=1))
        supervision.append(f"retention lets {HOLD_ENDS[1]} go")
    ticks: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    for k in range(TICKS_PER_DAY):
        when = context.replace(now=iso(now + timedelta(hours=24 * k / TICKS_PER_DAY)))
        ticks.update(
            {k: v for k, v in tick(when, concurrency=4).as_dict().items() if k != "errors"}
        )
        if k == 0 and (let_go := RELEASES.get(n)) is not None:
            [released] = release(crm, CAMPAIGN_ID, let_go, now)
            supervision.append(f"released {let_go} ({released['exit']})")
        decided.update(_decide_all(when, n))
    return {
        "day": n,
        "inbound": arrived,
        "supervision": supervision,
        "tick": dict(ticks),
        "decisions": dict(decided),
    }


def _arrive(
    crm: CrmStore, context: Context, contact_id: str, kind: str, body: str | None, now: datetime
) -> str:
    """One inbound event, the way it reaches coachgraph in production; what became of it."""
    thread, at = campaign_thread_id(CAMPAIGN_ID, contact_id), now - timedelta(hours=1)
    inbox = Path(context.outbox_dir).parent / "inbox"
    if kind == "one-click unsubscribe":
        contact = crm.get_contact(contact_id)
        code = one_click_unsubscribe(context, contact["email"] if contact else "")
        return f"{kind} from {contact_id} (HTTP {code})"
    if kind == "reply":
        deliver_reply(inbox, thread, crm, body or "", at)
    elif kind == "bounce":
        deliver_bounce(inbox, thread, crm, at)
    else:
        deliver_out_of_office(inbox, thread, crm, at)
    [outcome] = read_mailbox(crm, inbox, now)
    return f"{kind} from {contact_id} (read as {outcome.kind}, {outcome.status})"


def _decide_all(context: Context, n: int) -> Counter[str]:
    decided: Counter[str] = Counter()
    with campaign_runtime(context) as rt:
        for _ in range(3):  # feedback recomposes a draft, which then waits again
            waiting = pending_approvals(rt)
            if not waiting:
                break
            for item in waiting:
                decided[_decide(rt, item, n)] += 1
    return decided


def _decide(rt: CampaignRuntime, item: dict[str, Any], n: int) -> str:
    key = (n, item["contact_id"])
    decision = DECISIONS.get(key)
    if decision is None or (decision.response["type"] == "response" and item["feedback_rounds"]):
        decision = Decision(HumanResponse(type="accept", args=None), "approved")
    try:
        done = decide(rt, item["thread_id"], decision.response)
    except UserError:  # the send failed: the thread retries on later ticks, then reports
        return "send failed"
    waits = decision.response["type"] in ("accept", "edit") and done["outcome"] == "active"
    return f"{decision.label}, scheduled" if waits and not done["sent"] else decision.label


def _day_line(day: dict[str, Any]) -> str:
    tick = day["tick"]
    kinds = ("drafted", "sent", "stopped", "held", "completed", "failed")
    parts = [f"{k} {tick[k]}" for k in kinds if tick[k]]
    parts += [f"{k} {v}" for k, v in sorted(day["decisions"].items())]
    parts += day["inbound"] + day["supervision"]
    return f"  day {day['day']:>2}: " + ", ".join(parts) if parts else ""


def _threads(crm: CrmStore, context: Context) -> list[dict[str, Any]]:
    rows = status_rows(crm, CAMPAIGN_ID)
    with campaign_runtime(context) as rt:
        for row in rows:
            values = rt.app.get_state(rt.config(row["thread_id"])).values or {}
            start = parse_instant(values.get("enrolled_at") or iso(now_from(context.now)))
            row["timeline"] = [
                f"{(parse_instant(t['at']) - start).days}{_MARK[t['outcome']]}"
                + ("e" if t["edited"] else "")
                for t in values.get("touches", [])
            ]
    return rows


_MARK = {"sent": "", "skipped": "x", "unknown": "?"}


def _summary_table(threads: list[dict[str, Any]]) -> Table:
    table = Table(
        title="Every thread after the simulation",
        caption="touch days: 4 = sent on day 4, e = edited by the reviewer, x = rejected "
        "(skipped); the default plan waits 0/4/7/7/7/7 days before touches 1-6",
    )
    for column in ("contact", "status", "sent", "touch days", "plan", "stop reason"):
        table.add_column(column, overflow="fold")
    for t in threads:
        plan = t["plan"]
        cells = (
            t["contact_id"],
            t["status"],
            str(t["touches_sent"]),
            " ".join(t["timeline"]),
            f"{plan['source']}, {plan['max_touches']} touches",
            t["stop_reason"] if t["status"] != "completed" and t["stop_reason"] else "",
        )
        table.add_row(*(escape(c) for c in cells))
    return table


def _attention_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Waiting on a person (`coachgraph attention`)")
    for column in ("kind", "thread", "reason", "since"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(*(escape(str(r[k])) for k in ("kind", "thread_id", "reason", "at")))
    return table


AUDIT_EXCERPT_CONTACT = "c21"
"""The held contact: its audit log tells the hold, its lifting and the touches after it."""


def _audit_excerpt(crm: CrmStore) -> list[dict[str, Any]]:
    thread_id = campaign_thread_id(CAMPAIGN_ID, AUDIT_EXCERPT_CONTACT)
    rows = audit_rows(crm, thread_id=thread_id)
    keep = ("hold", "decision", "send", "release", "retry")
    picked = [r for r in rows if r["type"] in keep or r["sender"] == "orchestrator"]
    return [{k: r[k] for k in AUDIT_COLUMNS} for r in picked[:12]]


def _audit_table(rows: list[dict[str, Any]]) -> Table:
    title = f"Audit log excerpt for {AUDIT_EXCERPT_CONTACT} (`coachgraph audit --thread …`)"
    table = Table(title=title)
    for column in ("at", "type", "from → to", "what"):
        table.add_column(column, overflow="fold")
    for r in rows:
        cells = (r["at"], r["type"], f"{r['sender']} → {r['receiver']}", r["content"])
        table.add_row(*(escape(str(c)) for c in cells))
    return table
