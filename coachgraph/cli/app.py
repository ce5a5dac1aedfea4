"""The `coachgraph` command line (SPEC §16): one-line errors, exit 1 on a user error."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coachgraph.config.settings import load_settings
from coachgraph.runner.drafting import draft_for
from coachgraph.runner.supervision import lift_holds
from coachgraph.store.crm import CrmStore
from coachgraph.store.importer import ImportReport, Progress, import_file, replace_file
from coachgraph.store.suppression import blocking_flags, contacts_with_blocks
from schemas.context import Context
from schemas.errors import UserError
from schemas.values import iso, now_from, parse_instant

out = Console(emoji=False)
text = Console(markup=False, highlight=False, emoji=False)
"""For user data (names, drafts): never interpreted as Rich markup."""
err = Console(stderr=True, markup=False, highlight=False, emoji=False)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _instant(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Check `--now` where it is given, whether or not the command ends up using it."""
    try:
        return iso(parse_instant(value)) if value is not None else None
    except UserError as exc:
        raise click.BadParameter(str(exc)) from None


now_option = click.option(
    "--now", callback=_instant, help="ISO instant to take as now (overrides COACHGRAPH_NOW)."
)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _context(now: str | None = None) -> Context:
    """The run context from the environment, with `--now` on top when given."""
    return load_settings(**({"now": now} if now else {}))


def _crm() -> CrmStore:
    crm = CrmStore(load_settings().db_url)
    crm.require_initialised()
    return crm


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="coachgraph")
@click.option("-v", "--verbose", is_flag=True, help="Log model calls (tokens, latency) to stderr.")
def app(verbose: bool) -> None:
    """Durable coach→worker sales outreach on LangGraph, with a person approving every email."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)


@app.command()
def init() -> None:
    """Create or migrate the database at COACHGRAPH_DB (idempotent)."""
    from checkpoints.database import is_postgres
    from checkpoints.factory import setup_graph_tables
    from coachgraph.store.engine import context_timeouts

    settings = load_settings()
    version = CrmStore(settings.db_url).init()
    setup_graph_tables(settings.db_url, context_timeouts(settings))
    if is_postgres(settings.db_url):  # the job queue `coachgraph worker` shares (SPEC §9)
        from coachgraph.runner.worker import apply_schema

        apply_schema(settings.db_url)
    out.print(f"database ready (schema version {version})")


@app.group("import")
def import_group() -> None:
    """Import CRM data (CSV with a header row, or a JSON list of objects)."""


IMPORT_KINDS = {
    "contacts": "id, email (required), first_name, last_name, title, company_domain, "
    "timezone, do_not_contact, bounced, unsubscribed, replied",
    "companies": "domain (required), name, industry",
    "facts": "company_domain, fact, confidence (0-1), source",
    "suppression": "email or email_sha256, reason",
    "retention": "company_domain, reason (the retention watch list)",
    "history": "contact_id, direction (in/out), subject, body, at (ISO-8601)",
}


def _import_command(kind: str, columns: str) -> Callable[..., None]:
    @json_option
    @click.option(
        "--replace",
        is_flag=True,
        help="retention only: make the list exactly the file's rows, in one transaction.",
    )
    @click.argument("file", type=click.Path(path_type=Path))
    def command(file: Path, as_json: bool, replace: bool) -> None:
        crm = _crm()
        now = now_from(_context().now) if replace else None

        def run(progress: Progress | None = None) -> ImportReport:
            if now is not None:
                return replace_file(crm, kind, file, now, progress)
            return import_file(crm, kind, file, progress)

        # Progress (rows read so far) only on a terminal: never in a pipe, a log or a test.
        if err.is_terminal:
            with err.status(f"importing {file.name}…") as status:
                report = run(lambda n: status.update(f"importing {file.name}… {n:,} rows"))
        else:
            report = run()
        extra = _after_replace(crm, report, now) if now is not None else {}
        if as_json:
            _print_json(report.as_dict() | extra)
        else:
            already = (
                f" ({report.already_present} already present)" if report.already_present else ""
            )
            out.print(
                f"imported {report.imported} {kind} from {report.file}{already}", markup=False
            )
            if extra:
                removed = ", ".join(report.removed or []) or "none"
                text.print(f"removed: {removed}; {extra['resumed']} held thread(s) resumed")
            for problem in report.rejected:
                err.print(f"rejected: {problem}", soft_wrap=True)
        if report.rejected:
            raise UserError(
                f"{len(report.rejected)} row(s) of {report.file} rejected; "
                f"the other {report.imported} were imported"
            )

    command.__doc__ = f"Import {kind}. Columns: {columns}."
    return command


def _after_replace(crm: CrmStore, report: ImportReport, now: datetime) -> dict[str, int]:
    """Resume the threads the companies taken off the list held; refuse a rejected row."""
    if report.rejected:
        for problem in report.rejected:
            err.print(f"rejected: {problem}", soft_wrap=True)
        raise UserError(
            f"{len(report.rejected)} row(s) of {report.file} rejected; nothing replaced: "
            "fix them and run the import again"
        )
    return {"resumed": lift_holds(crm, now)}


for _kind, _columns in IMPORT_KINDS.items():
    import_group.command(_kind)(_import_command(_kind, _columns))


@app.group()
def contacts() -> None:
    """Contacts in the CRM."""


@contacts.command("list")
@json_option
def contacts_list(as_json: bool) -> None:
    """Contacts with ids and flags (a suppressed address shows as `suppressed`)."""
    rows = contacts_with_blocks(_crm())
    if as_json:
        _print_json(rows)
        return
    table = Table()
    for column in ("id", "email", "name", "company", "flags"):
        table.add_column(column)
    for c in rows:
        flags = blocking_flags(c)
        name = " ".join(p for p in (c["first_name"], c["last_name"]) if p)
        cells = (c["id"], c["email"], name, c["company_domain"] or "", ", ".join(flags))
        table.add_row(*(escape(cell) for cell in cells))
    out.print(table)


@app.command()
@click.option("--contact", "contact_id", required=True, help="Contact id.")
@json_option
@now_option
def draft(contact_id: str, as_json: bool, now: str | None) -> None:
    """Run the email orchestrator for one contact (drafts only; never sends)."""
    _crm()
    result = draft_for(contact_id, _context(now))
    if as_json:
        _print_json(result)
        return
    text.print(f"{result['contact_id']}: {result['action']}")
    if result["blocked_reason"]:
        text.print(f"blocked: {result['blocked_reason']} ({result.get('block_detail')})")
    if result.get("skip_reason"):
        text.print(f"skipped: {result['skip_reason']}")
    if result["draft"]:
        meta = result["graph_meta"]
        verdict = (
            "passed" if meta["review_passed"] else "flagged: " + "; ".join(meta["review_notes"])
        )
        text.print(f"Subject: {result['draft']['subject']}\n\n{result['draft']['body']}\n")
        text.print(f"review: {verdict}; roles: {', '.join(meta['role_plan'])}")


@app.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path(".coachgraph/demo"),
    show_default=True,
    help="Where the fresh demo database goes (recreated each run).",
)
@json_option
def demo(directory: Path, as_json: bool) -> None:
    """The main job offline: a fresh demo CRM, one draft per contact, a summary."""
    from coachgraph.demo.run import run_demo

    results = run_demo(directory, load_settings(), err if as_json else out)
    if as_json:
        _print_json(results)


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit code 1."""
    try:
        # Outside standalone mode click returns an `Exit`'s code (gate: 1 HOLD, 2 ROLLBACK).
        code = app.main(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("error: aborted")
        sys.exit(1)
    except click.ClickException as exc:
        err.print(f"error: {exc.format_message()}", soft_wrap=True)
        sys.exit(1)
    except UserError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        sys.exit(1)
