"""Campaign commands: create, enroll, tick, approvals, reply, status, outbox (SPEC §16)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from coachgraph.cli.app import (
    _context,
    _crm,
    _print_json,
    app,
    err,
    json_option,
    now_option,
    out,
    text,
)
from coachgraph.mail.outbox import SHOWN, list_outbox
from coachgraph.runner.approvals import decide, pending_approvals, waiting_item
from coachgraph.runner.campaigns import campaign_runtime, create_campaign, enroll
from coachgraph.runner.threads import reconcile, record_inbound, retry_thread, status_rows
from coachgraph.runner.tick import tick
from coachgraph.store.suppression import lift
from schemas.approval import HumanResponse
from schemas.errors import UserError
from schemas.values import iso, now_from


def _now(now: str | None) -> datetime:
    return now_from(now or _context().now)


@app.group()
def campaign() -> None:
    """Create campaigns and enrol contacts (one durable thread per contact)."""


@campaign.command("create")
@click.option("--name", required=True, help="Campaign name.")
@click.option("--offer", required=True, help="What every email offers.")
@click.option("--sender-name", required=True, help="Name the emails come from.")
@click.option("--sender-email", required=True, help="Address the emails come from.")
@click.option("--id", "campaign_id", help="A stable id (default: generated).")
@click.option("--send-days", help="Days mail may arrive, e.g. mon-fri (COACHGRAPH_SEND_DAYS).")
@click.option("--send-hours", help="Hours, e.g. 09:00-17:00, in each contact's timezone.")
@click.option("--timezone", help="For contacts without one (IANA name; default UTC).")
@click.option("--holidays", help="Skip this country's public holidays (ISO code, e.g. DE).")
@click.option("--daily-cap", type=int, help="Sends a day from the sender mailbox.")
@click.option("--min-gap-s", type=float, help="Seconds between two sends (jittered).")
@click.option(
    "--new-thread-per-touch", is_flag=True, help="Do not send follow-ups as replies (Re:)."
)
@json_option
def campaign_create(
    name: str,
    offer: str,
    sender_name: str,
    sender_email: str,
    campaign_id: str | None,
    as_json: bool,
    **sending: Any,
) -> None:
    """Create a campaign; prints its id."""
    cid = create_campaign(
        _crm(),
        name=name,
        offer=offer,
        sender_name=sender_name,
        sender_email=sender_email,
        campaign_id=campaign_id,
        settings=_sending_settings(**sending),
    )
    if as_json:
        _print_json({"campaign_id": cid})
    else:
        text.print(cid)


def _sending_settings(
    send_days: str | None,
    send_hours: str | None,
    timezone: str | None,
    holidays: str | None,
    daily_cap: int | None,
    min_gap_s: float | None,
    new_thread_per_touch: bool,
) -> dict[str, Any]:
    window = {"days": send_days, "hours": send_hours, "timezone": timezone, "holidays": holidays}
    return {
        "window": {k: v for k, v in window.items() if v is not None},
        "daily_cap": daily_cap,
        "min_gap_s": min_gap_s,
        "new_thread_per_touch": new_thread_per_touch or None,
    }


@campaign.command("enroll")
@click.argument("campaign_id")
@click.option("--all", "all_contacts", is_flag=True, help="Enrol every contact.")
@click.option("--contact", "contacts", multiple=True, help="Contact id (repeatable).")
@now_option
@json_option
def campaign_enroll(
    campaign_id: str,
    all_contacts: bool,
    contacts: tuple[str, ...],
    now: str | None,
    as_json: bool,
) -> None:
    """Enrol contacts; re-enrolling is a no-op. The first touch is due at once."""
    if all_contacts == bool(contacts):
        raise UserError("give either --all or one or more --contact ID")
    chosen = None if all_contacts else list(contacts)
    added, already = enroll(_crm(), campaign_id, chosen, _now(now), _context().seats)
    if as_json:
        _print_json({"enrolled": added, "already_enrolled": already})
    else:
        text.print(f"enrolled {added} contact(s) in {campaign_id} ({already} already enrolled)")


@app.command("tick")
@now_option
@click.option(
    "--concurrency",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Threads resumed at once.",
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (use up to one per core for large ticks).",
)
@json_option
def tick_command(now: str | None, concurrency: int, processes: int, as_json: bool) -> None:
    """Resume every thread whose next touch is due; prints what happened."""
    _crm()
    report = tick(_context(now), concurrency=concurrency, processes=processes)
    data = report.as_dict()
    if as_json:
        _print_json(data)
        return
    keys = ("resumed", "drafted", "sent", "stopped", "completed", "failed", "skipped")
    text.print(", ".join(f"{k} {data[k]}" for k in keys))
    for problem in report.errors:
        err.print(f"failed: {problem}")


@app.group()
def approvals() -> None:
    """Drafts waiting for a person: list, show, approve, edit, reject, respond."""


@approvals.command("list")
@json_option
def approvals_list(as_json: bool) -> None:
    """Pending drafts, one per waiting thread."""
    with campaign_runtime(_context()) as rt:
        items = pending_approvals(rt)
    if as_json:
        _print_json([{k: v for k, v in i.items() if k != "request"} for i in items])
        return
    if not items:
        text.print("no drafts waiting for approval")
        return
    table = Table()
    for column in ("thread", "touch", "to", "subject", "review"):
        table.add_column(column, overflow="fold")
    for i in items:
        review = "passed" if i["review_passed"] else "flagged: " + "; ".join(i["review_notes"])
        cells = (i["thread_id"], str(i["touch"]), i["to"], i["subject"], review)
        table.add_row(*(escape(c) for c in cells))
    out.print(table)


@approvals.command("show")
@click.argument("thread_id")
@json_option
def approvals_show(thread_id: str, as_json: bool) -> None:
    """One pending draft in full, with its review notes and provenance."""
    with campaign_runtime(_context()) as rt:
        item = waiting_item(rt, thread_id)
    if as_json:
        _print_json(item)
        return
    text.print(item["request"]["description"] + "\n")
    text.print(f"To: {item['to']}\nSubject: {item['subject']}\n\n{item['body']}")


def _decide(thread_id: str, response: HumanResponse, as_json: bool, now: str | None) -> None:
    with campaign_runtime(_context(now)) as rt:
        result = decide(rt, thread_id, response)
    if as_json:
        _print_json(result)
    else:
        text.print(f"{thread_id}: {response['type']} → {result['outcome']}")


@approvals.command("approve")
@click.argument("thread_id")
@now_option
@json_option
def approvals_approve(thread_id: str, now: str | None, as_json: bool) -> None:
    """Send the draft as it is, now."""
    _decide(thread_id, HumanResponse(type="accept", args=None), as_json, now)


@approvals.command("edit")
@click.argument("thread_id")
@click.option("--subject", required=True, help="The subject to send.")
@click.option("--body", required=True, help="The body to send.")
@now_option
@json_option
def approvals_edit(thread_id: str, subject: str, body: str, now: str | None, as_json: bool) -> None:
    """Send your edited subject and body (re-reviewed first)."""
    edit = {"action": "send_email", "args": {"subject": subject, "body": body}}
    _decide(thread_id, HumanResponse(type="edit", args=edit), as_json, now)  # type: ignore[typeddict-item]


@approvals.command("reject")
@click.argument("thread_id")
@click.option("--reason", default=None, help="Why (kept with the decision).")
@now_option
@json_option
def approvals_reject(thread_id: str, reason: str | None, now: str | None, as_json: bool) -> None:
    """Skip this touch; the next one is scheduled."""
    _decide(thread_id, HumanResponse(type="ignore", args=reason), as_json, now)


@approvals.command("respond")
@click.argument("thread_id")
@click.option("--feedback", required=True, help="What to change; the draft is recomposed.")
@now_option
@json_option
def approvals_respond(thread_id: str, feedback: str, now: str | None, as_json: bool) -> None:
    """Send feedback; the touch is recomposed with it (twice at most)."""
    _decide(thread_id, HumanResponse(type="response", args=feedback), as_json, now)


@app.command("reply")
@click.option("--contact", "contact_id", required=True, help="Contact id.")
@click.option("--body", default=None, help="The reply's text.")
@click.option("--bounced", is_flag=True, help="Record a bounce instead of a reply.")
@click.option("--unsubscribed", is_flag=True, help="Record an unsubscribe instead of a reply.")
@now_option
def reply_command(
    contact_id: str, body: str | None, bounced: bool, unsubscribed: bool, now: str | None
) -> None:
    """Record an inbound reply, bounce or unsubscribe; the contact's sequences stop."""
    if bounced and unsubscribed:
        raise UserError("give at most one of --bounced and --unsubscribed")
    kind = "bounce" if bounced else "unsubscribe" if unsubscribed else "reply"
    record_inbound(_crm(), contact_id, kind=kind, body=body, now=_now(now))
    text.print(f"recorded {kind} from {contact_id}; their sequences stop at the next tick")


@app.command("status")
@click.option("--campaign", "campaign_id", default=None, help="Only this campaign.")
@json_option
def status_command(campaign_id: str | None, as_json: bool) -> None:
    """One row per enrollment: status, touches sent, next due, plan, stop reason."""
    rows = status_rows(_crm(), campaign_id)
    if as_json:
        _print_json(rows)
        return
    table = Table()
    for column in ("thread", "status", "sent", "next due", "plan", "stop reason", "last report"):
        table.add_column(column, overflow="fold")
    for r in rows:
        plan = r["plan"]
        summary = f"{plan['source']}: {plan['max_touches']} touches, gaps {plan['cadence_days']}"
        cells = (
            r["thread_id"],
            r["status"],
            f"{r['touches_sent']}" + (f" +{n} unknown" if (n := r["touches_unknown"]) else ""),
            r["next_due_at"] or "-",
            summary,
            r["stop_reason"] or "",
            f"{report['status']}: {report['summary']}" if (report := r["last_report"]) else "",
        )
        table.add_row(*(escape(str(c)) for c in cells))
    out.print(table)


@app.group("outbox", invoke_without_command=True)
@json_option
@click.pass_context
def outbox_command(ctx: click.Context, as_json: bool) -> None:
    """Sent, scheduled (waiting for a window or cap), failed and ambiguous (unknown) sends."""
    if ctx.invoked_subcommand is not None:
        return
    rows = list_outbox(_crm(), SHOWN)
    if as_json:
        _print_json(rows)
        return
    table = Table()
    for column in ("status", "sent at", "to", "subject", "message id"):
        table.add_column(column, overflow="fold")
    for r in rows:
        when = r["sent_at"] or (f"for {r['scheduled_for']}" if r["scheduled_for"] else "-")
        cells = (r["status"], when, r["to"], r["subject"], r["message_id"])
        table.add_row(*(escape(str(c)) for c in cells))
    out.print(table)


@app.group("suppression")
def suppression_group() -> None:
    """The suppression list: opt-outs, bounces and complaints are permanent."""


@suppression_group.command("lift")
@click.argument("email")
@click.option("--reason", required=True, help="Why the block may go (audited).")
@now_option
@json_option
def suppression_lift(email: str, reason: str, now: str | None, as_json: bool) -> None:
    """Lift an opt-out, bounce or do-not-contact block on EMAIL: the only way to lift one."""
    result = lift(_crm(), email, reason, iso(_now(now)))
    if as_json:
        _print_json(result)
        return
    cleared = ", ".join(result["contacts_cleared"]) or "none"
    text.print(
        f"lifted {result['email']} (was: {result['lifted'] or 'not listed'}); "
        f"contact flags cleared: {cleared}"
    )
    if still := result.get("still_blocked_by"):
        err.print(f"warning: {result['email']} is still blocked by {still}")


@outbox_command.command("reconcile")
@click.argument("key")
@click.option("--delivered", "delivered", flag_value=True, default=None, help="It arrived.")
@click.option(
    "--not-delivered", "delivered", flag_value=False, help="It did not: send it once more."
)
@now_option
@json_option
def outbox_reconcile(key: str, delivered: bool | None, now: str | None, as_json: bool) -> None:
    """Settle an `unknown` send: --delivered, or --not-delivered to send it once more."""
    if delivered is None:
        raise UserError("say what happened: --delivered or --not-delivered")
    _crm()
    result = reconcile(_context(now), key, delivered=delivered)
    if as_json:
        _print_json(result)
    elif result.get("reason"):
        text.print(f"{key}: {result['reason']}")
    else:
        resent = "sent again, " if result["resent"] else ""
        text.print(f"{key}: {resent}now {result['status']}")


@app.command("retry")
@click.argument("thread_id")
@now_option
@json_option
def retry_command(thread_id: str, now: str | None, as_json: bool) -> None:
    """Revive a failed thread with a fresh retry budget; its pending draft is kept."""
    retry_thread(_crm(), thread_id, _now(now))
    if as_json:
        _print_json({"thread_id": thread_id, "status": "active"})
    else:
        text.print(f"{thread_id}: active again; the next tick resumes it")
