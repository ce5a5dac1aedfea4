"""Supervision commands: release a subtree, pause and resume a campaign (SPEC §12)."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from coachgraph.cli.app import _crm, _print_json, app, json_option, now_option, out, text
from coachgraph.cli.campaigns import _now, campaign
from coachgraph.runner.supervision import release, set_paused


@app.command("release")
@click.option("--campaign", "campaign_id", required=True, help="The campaign to release.")
@click.option("--contact", "contact_id", default=None, help="Only this contact's thread.")
@now_option
@json_option
def release_command(
    campaign_id: str, contact_id: str | None, now: str | None, as_json: bool
) -> None:
    """End a campaign's threads (or one contact's) for good; each exits clean or interrupted."""
    rows = release(_crm(), campaign_id, contact_id, _now(now))
    if as_json:
        _print_json(rows)
        return
    table = Table()
    for column in ("thread", "exit", "cancelled approvals", "withdrawn sends", "status"):
        table.add_column(column, overflow="fold")
    for r in rows:
        status = r["status"] + (" (had ended)" if r["already_ended"] else "")
        cells = (r["thread_id"], r["exit"], r["cancelled_approvals"], r["withdrawn_sends"], status)
        table.add_row(*(escape(str(c)) for c in cells))
    out.print(table)
    released = sum(not r["already_ended"] for r in rows)
    text.print(f"{released} thread(s) released; they never resume")


@campaign.command("pause")
@click.argument("campaign_id")
@now_option
@json_option
def campaign_pause(campaign_id: str, now: str | None, as_json: bool) -> None:
    """Stop ticking a campaign: nothing is drafted or sent until it is resumed."""
    _report(set_paused(_crm(), campaign_id, True, _now(now)), as_json)


@campaign.command("resume")
@click.argument("campaign_id")
@now_option
@json_option
def campaign_resume(campaign_id: str, now: str | None, as_json: bool) -> None:
    """Tick a paused campaign again; threads that fell due meanwhile run at the next tick."""
    _report(set_paused(_crm(), campaign_id, False, _now(now)), as_json)


def _report(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        _print_json(result)
        return
    already = "" if result["changed"] else " (already)"
    text.print(f"campaign {result['campaign_id']}: {result['status']}{already}")
