"""Inbound mail commands: poll the IMAP folder, list what was read (SPEC §11a, §16)."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from coachgraph.cli.app import _context, _crm, _print_json, app, json_option, now_option, out, text
from coachgraph.inbound.classify import KINDS
from coachgraph.inbound.imap import account_from, poll
from coachgraph.store.crm import CrmStore, inbound_messages
from schemas.values import now_from

LIST_COLUMNS = (
    "id", "received_at", "uid", "from_email", "subject", "kind", "status", "contact_id",
    "thread_id", "detail",
)  # fmt: skip
"""The fields of `inbox list --json`, in order."""


@app.group("inbox")
def inbox_group() -> None:
    """Replies, bounces and unsubscribes read from the IMAP folder (IMAP_HOST, …)."""


@inbox_group.command("poll")
@now_option
@click.option("--limit", type=click.IntRange(1), default=None, help="Read at most N messages.")
@json_option
def inbox_poll(now: str | None, limit: int | None, as_json: bool) -> None:
    """Read new mail and apply it: replies stop threads, bounces and opt-outs suppress."""
    settings = _context(now)
    account = account_from(settings)
    report = poll(_crm(), account, now_from(settings.now), limit).as_dict()
    if as_json:
        _print_json(report)
        return
    counts = ", ".join(f"{report[k]} {k}" for k in (*KINDS, "duplicate", "skipped") if report[k])
    restarted = " (UIDVALIDITY changed: read from the start)" if report["restarted"] else ""
    text.print(
        f"{report['mailbox']}: read {report['read']} message(s){restarted}"
        f"{': ' + counts if counts else ''}; {report['unmatched']} unmatched; "
        f"{report['stopped_threads']} thread(s) stopped; last UID {report['last_uid']}"
    )


@inbox_group.command("list")
@click.option("--unmatched", is_flag=True, help="Only messages no contact matched.")
@json_option
def inbox_list(unmatched: bool, as_json: bool) -> None:
    """Messages read so far, oldest first, with their kind and what was done."""
    rows = inbound_rows(_crm(), unmatched)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        text.print("no inbound messages" + (" unmatched" if unmatched else ""))
        return
    table = Table()
    for column in ("at", "from", "subject", "kind", "status", "contact"):
        table.add_column(column, overflow="fold")
    for r in rows:
        cells = (r["received_at"], r["from_email"], r["subject"], r["kind"], r["status"])
        table.add_row(*(escape(str(c or "")) for c in (*cells, r["contact_id"])))
    out.print(table)


def inbound_rows(crm: CrmStore, unmatched: bool = False) -> list[dict[str, Any]]:
    """Stored inbound messages (only unmatched ones when asked), oldest first."""
    query = select(*(inbound_messages.c[c] for c in LIST_COLUMNS)).order_by(inbound_messages.c.id)
    if unmatched:
        query = query.where(inbound_messages.c.status == "unmatched")
    with crm.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
