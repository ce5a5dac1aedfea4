"""`coachgraph prompts`: governed updates of a seat's instructions, under the release gate.

A proposal becomes current only when the gate PROMOTEs it against the current instructions
(SPEC §14). The group lives with the evals because it runs the gate; the CLI finds it
through the `coachgraph.commands` entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from coachgraph.cli.app import _print_json, json_option, out, text
from coachgraph.config.settings import load_settings
from coachgraph.runner.feedback import collect_feedback, feedback_section
from coachgraph.store import prompts as store
from coachgraph.store.crm import CrmStore
from evals.cli import _progress, _run_options, print_gate_paths, run_options
from evals.datasets import load_datasets
from evals.gate import EXIT_CODES, MODEL_PATHS, run_instructions_gate
from nodes.email.instructions import shipped_instructions
from schemas.context import Context
from schemas.errors import UserError
from schemas.seats import SeatChart, seat_chart
from schemas.values import iso, now_from

GOVERNABLE = {"composer": shipped_instructions}
"""Seats whose instructions a proposal may change, with their shipped instructions."""
MIN_CHARS = 20


@click.group("prompts")
def prompts_group() -> None:
    """Governed prompt updates: propose (gated), list, show, roll back, collect feedback."""


@prompts_group.command("propose")
@click.option("--seat", required=True, help="The seat whose instructions change (composer).")
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The proposed instructions, as UTF-8 text.",
)
@click.option(
    "--from-feedback",
    "campaign_id",
    help="Propose the current instructions plus a summary of this campaign's reviewer feedback.",
)
@click.option("--reason", required=True, help="Why the instructions should change.")
@click.option("--author", help="Who proposes it (default: the person seat's owner).")
@run_options
def propose(
    seat: str,
    file: Path | None,
    campaign_id: str | None,
    reason: str,
    author: str | None,
    datasets_dir: Path | None,
    concurrency: int,
    upload: bool,
    judge: bool,
    as_json: bool,
) -> None:
    """Gate new instructions against the current ones: only PROMOTE makes them current."""
    context, crm = _open()
    chart = _governable(context, seat)
    proposed = _proposal_text(crm, seat, file, campaign_id)
    reason = _required(reason, "--reason")
    at = iso(now_from(context.now))
    store.check_daily_limit(crm, seat, at)
    proposal = store.Proposal(seat, proposed, author or _person(chart), reason, at)
    current = store.current(crm, seat)
    baseline = (f"version {current.id}", current.text) if current else ("shipped", None)
    datasets = load_datasets(list(MODEL_PATHS), datasets_dir)
    with _progress(as_json) as progress:
        report = run_instructions_gate(
            seat,
            baseline,
            ("proposal", proposed),
            context,
            datasets,
            progress=progress,
            **_run_options(context, concurrency, upload, judge),
        )
    decided = iso(now_from(context.now))
    stored = store.record_decision(crm, proposal, report, decided)
    if as_json:
        _print_json({"version": stored.summary(), "report": report})
    else:
        _print_decision(stored, report)
    raise click.exceptions.Exit(EXIT_CODES[report["decision"]])


@prompts_group.command("list")
@click.option("--seat", help="Only this seat's versions.")
@json_option
def list_versions(seat: str | None, as_json: bool) -> None:
    """Every kept version, newest first: status, who, why, when, the gate's decision."""
    context, crm = _open()
    if seat is not None:
        _known(context, seat)
    rows = [v.summary() for v in store.versions(crm, seat)]
    if as_json:
        _print_json(rows)
        return
    table = Table()
    for column in ("id", "seat", "status", "gate", "author", "decided", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        cells = (row["seat"], row["status"], row["decision"] or "", row["author"])
        when = row["decided_at"] or row["created_at"]
        table.add_row(str(row["id"]), *(escape(c) for c in cells), when, escape(row["reason"]))
    out.print(table)
    if not rows:
        text.print("no prompt versions yet: every seat uses its shipped instructions")


@prompts_group.command("show")
@click.argument("version_id", metavar="VERSION", type=int)
@json_option
def show(version_id: int, as_json: bool) -> None:
    """One version: its text, who proposed it, why, when, and the gate's report."""
    _, crm = _open()
    found = store.version(crm, version_id)
    if as_json:
        _print_json(found.as_dict())
        return
    text.print(
        f"version {found.id} of {found.seat}: {found.status}\n"
        f"proposed by {found.author} at {found.created_at}: {found.reason}\n"
        f"decided at {found.decided_at}\n\n{found.text}\n",
        soft_wrap=True,
    )
    if found.gate_report:
        print_gate_paths(found.gate_report)


@prompts_group.command("rollback")
@click.option("--seat", required=True, help="The seat to roll back.")
@click.option("--to", "to", type=int, help="The promoted version to restore (default: previous).")
@click.option("--reason", required=True, help="Why the seat goes back.")
@click.option("--author", help="Who rolls it back (default: the person seat's owner).")
@json_option
def rollback(seat: str, to: int | None, reason: str, author: str | None, as_json: bool) -> None:
    """Make an earlier promoted version current again (audited)."""
    context, crm = _open()
    chart = _governable(context, seat)
    reason = _required(reason, "--reason")
    at = iso(now_from(context.now))
    was, now_current = store.roll_back(crm, seat, to, author or _person(chart), reason, at)
    if as_json:
        _print_json({"rolled_back": was.summary(), "current": now_current.summary()})
        return
    text.print(f"{seat}: version {now_current.id} is current again; version {was.id} rolled back")


@prompts_group.command("feedback")
@click.option("--campaign", "campaign_id", required=True, help="The campaign id.")
@json_option
def feedback(campaign_id: str, as_json: bool) -> None:
    """Reviewer feedback (approvals respond) and edits (approvals edit) on a campaign's drafts."""
    _, crm = _open()
    items = collect_feedback(crm, campaign_id)
    if as_json:
        _print_json(items)
        return
    if not items:
        text.print(f"campaign {campaign_id}: no reviewer feedback or edits yet")
        return
    text.print(feedback_section(campaign_id, items), soft_wrap=True)


def _open() -> tuple[Context, CrmStore]:
    context = load_settings()
    crm = CrmStore(context.db_url)
    crm.require_initialised()
    return context, crm


def _known(context: Context, seat: str) -> SeatChart:
    chart = seat_chart(context.seats)
    if seat not in chart.seats:
        raise UserError(f"unknown seat {seat!r}: the seat chart has {', '.join(chart.seats)}")
    return chart


def _governable(context: Context, seat: str) -> SeatChart:
    chart = _known(context, seat)
    if seat not in GOVERNABLE:
        raise UserError(
            f"seat {seat} has no governable prompt: only {', '.join(GOVERNABLE)}'s "
            "instructions can be proposed (the other seats run on code and rules)"
        )
    return chart


def _person(chart: SeatChart) -> str:
    return chart.owner_of("person") if "person" in chart.seats else "person"


def _required(value: str, option: str) -> str:
    if not value.strip():
        raise UserError(f"{option} must not be empty")
    return value.strip()


def _proposal_text(crm: CrmStore, seat: str, file: Path | None, campaign_id: str | None) -> str:
    """The proposed instructions: the file's, or the current ones plus a campaign's feedback."""
    if (file is None) == (campaign_id is None):
        raise UserError("give exactly one of --file F or --from-feedback CAMPAIGN")
    if campaign_id is not None:
        current = store.current(crm, seat)
        base = current.text if current else GOVERNABLE[seat]()
        section = feedback_section(campaign_id, collect_feedback(crm, campaign_id))
        return f"{base}\n\n{section}"
    assert file is not None
    try:
        proposed = file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise UserError(f"no file {file}: give the proposed instructions as a text file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {file}: {exc}") from None
    if len(proposed) < MIN_CHARS:
        raise UserError(
            f"{file} holds {len(proposed)} characters; proposed instructions need at least "
            f"{MIN_CHARS}"
        )
    return proposed


def _print_decision(stored: store.PromptVersion, report: dict[str, Any]) -> None:
    print_gate_paths(report)
    if stored.status == "current":
        text.print(f"PROMOTE: version {stored.id} is now {stored.seat}'s current instructions")
    else:
        text.print(
            f"{report['decision']} (exit {report['exit_code']}): version {stored.id} refused; "
            f"{stored.seat}'s current instructions are unchanged (`coachgraph prompts show "
            f"{stored.id}`)"
        )
