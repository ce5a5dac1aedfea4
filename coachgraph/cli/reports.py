"""Supervision commands: attention, audit, campaign report, retention (SPEC §12, §16)."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from coachgraph.cli.app import _context, _crm, _print_json, app, json_option, now_option, out, text
from coachgraph.cli.campaigns import campaign
from coachgraph.runner.reports import FUNNEL, attention_rows, audit_log_rows, campaign_report
from coachgraph.runner.supervision import lift_holds
from coachgraph.store.retention import remove_retention, retention_rows
from schemas.supervision import AUDIT_TYPES
from schemas.values import now_from

BAR_WIDTH = 10
"""Characters of the widest bar in `campaign report`'s funnel."""


def _table(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Table:
    """A table of CRM text, every cell escaped so it is never read as Rich markup."""
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(escape("" if cell is None else str(cell)) for cell in row))
    return table


@app.command("attention")
@json_option
def attention_command(as_json: bool) -> None:
    """What waits on a person besides drafts: failed threads, flagged reports, unknown sends."""
    rows = attention_rows(_crm())
    if as_json:
        _print_json(rows)
    elif not rows:
        text.print("nothing needs attention")
    else:
        cells = [(r["at"], r["kind"], r["thread_id"], r["reason"]) for r in rows]
        out.print(_table(("at", "kind", "thread", "reason"), cells))


@app.command("audit")
@click.option("--thread", "thread_id", default=None, help="Only this thread.")
@click.option("--campaign", "campaign_id", default=None, help="Only this campaign.")
@click.option(
    "--type", "type_", type=click.Choice(AUDIT_TYPES), default=None, help="Only this type."
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the newest N rows.")
@json_option
def audit_command(
    thread_id: str | None,
    campaign_id: str | None,
    type_: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """The audit log, oldest first: delegations, reports, decisions, sends, holds, releases."""
    rows = audit_log_rows(_crm(), type_, thread_id=thread_id, campaign_id=campaign_id, limit=limit)
    if as_json:
        _print_json(rows)
    elif not rows:
        text.print("no audit rows match")
    else:
        cells = [
            (
                r["at"],
                r["thread_id"] or "-",
                f"{r['sender']} → {r['receiver']}",
                r["type"],
                r["content"],
            )
            for r in rows
        ]
        out.print(_table(("at", "thread", "from → to", "type", "content"), cells))


@campaign.command("report")
@click.argument("campaign_id")
@json_option
def campaign_report_command(campaign_id: str, as_json: bool) -> None:
    """Per-touch funnel (sent, replied, bounced, unsubscribed, failed), latency, edits, cost."""
    settings = _context()
    report = campaign_report(
        _crm(), campaign_id, settings.llm_usd_per_mtok_in, settings.llm_usd_per_mtok_out
    )
    if as_json:
        _print_json(report)
        return
    widest = max((t["sent"] for t in report["touches"]), default=0) or 1
    cells = [
        (*(t[k] for k in ("touch", *FUNNEL)), "█" * round(BAR_WIDTH * t["sent"] / widest))
        for t in report["touches"]
    ]
    out.print(_table(("touch", *FUNNEL, "funnel"), cells))
    latency, rate = report["approval_latency_s_median"], report["edit_rate"]
    text.print(
        f"{campaign_id}: median approval latency "
        f"{'-' if latency is None else f'{latency:g} s'}, "
        f"edit rate {'-' if rate is None else f'{rate:.1%}'}, "
        f"{report['tokens']:,} tokens, ${report['cost_usd']:.6f}"
    )


@app.group("retention")
def retention_group() -> None:
    """The retention watch list: companies outreach holds off (SPEC §12)."""


@retention_group.command("list")
@json_option
def retention_list(as_json: bool) -> None:
    """Watched companies, their reasons and how many threads each holds."""
    rows = retention_rows(_crm())
    if as_json:
        _print_json(rows)
    elif not rows:
        text.print("the retention watch list is empty")
    else:
        cells = [(r["company_domain"], r["held_threads"], r["reason"]) for r in rows]
        out.print(_table(("company", "held threads", "reason"), cells))


@retention_group.command("remove")
@click.argument("domain")
@now_option
@json_option
def retention_remove(domain: str, now: str | None, as_json: bool) -> None:
    """Take DOMAIN off the list (audited); its held threads resume at once."""
    crm = _crm()
    instant = now_from(now or _context().now)
    result = remove_retention(crm, domain, instant)
    result["resumed"] = lift_holds(crm, instant)
    if as_json:
        _print_json(result)
    else:
        text.print(
            f"{result['company_domain']} is off the retention watch list; "
            f"{result['resumed']} held thread(s) resumed"
        )
