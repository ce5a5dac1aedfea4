"""`coachgraph demo`: the main job offline, in a fresh local database."""

from __future__ import annotations

import shutil
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from checkpoints.database import sqlite_path
from checkpoints.factory import setup_graph_tables
from coachgraph.demo.campaign import run_campaign_demo
from coachgraph.runner.drafting import draft_many
from coachgraph.store.crm import CrmStore
from coachgraph.store.engine import dispose_engines
from coachgraph.store.importer import DEMO_FILES, import_file
from schemas.context import Context
from schemas.errors import UserError

DEMO_NOW = "2026-11-02T09:00:00+00:00"
DEMO_PUBLIC_URL = "https://outreach.demo.example"
DEMO_SECRET_KEY = "demo-only-signing-key, never use in production"
"""So the demo's messages carry one-click unsubscribe links it can click itself."""
MARKER = ".coachgraph-demo"
"""File that marks a directory as the demo's own, so only such a directory is ever wiped."""


def demo_data_dir() -> Path:
    """The packaged demo CRM files."""
    return Path(str(resources.files("coachgraph.demo") / "data"))


def prepare_workdir(workdir: Path) -> None:
    """Empty a directory the demo made before (never anything else) and mark it as ours."""
    workdir = workdir.resolve()
    if workdir.exists():
        if not workdir.is_dir():
            raise UserError(f"--dir {workdir} is a file, not a directory")
        if (workdir / MARKER).is_file():
            dispose_engines()  # no pooled connection may outlive the file it points at
            shutil.rmtree(workdir)
        elif any(workdir.iterdir()):
            raise UserError(
                f"--dir {workdir} is not empty and was not made by `coachgraph demo`; "
                "choose a new or empty directory"
            )
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --dir {workdir}: {exc.strerror}") from None
    (workdir / MARKER).write_text("made by coachgraph demo; deleted and recreated on each run\n")


def load_demo_crm(db_url: str) -> CrmStore:
    """Create the schema and import every demo file; a rejected row is a bug, so raise."""
    crm = CrmStore(db_url)
    crm.init()
    setup_graph_tables(db_url)
    for kind, name in DEMO_FILES:
        report = import_file(crm, kind, demo_data_dir() / name)
        if report.rejected:
            raise RuntimeError(f"demo data rejected: {report.rejected[0]}")
    return crm


def demo_context(db_url: str, settings: Context) -> Context:
    """The demo's context: the environment's flags, its own database and simulated time."""
    now = settings.now or DEMO_NOW
    outbox = str(Path(sqlite_path(db_url) or ".").parent / "outbox")
    return settings.replace(
        db_url=db_url,
        now=now,
        outbox_dir=outbox,
        public_url=settings.public_url or DEMO_PUBLIC_URL,
        secret_key=settings.secret_key or SecretStr(DEMO_SECRET_KEY),
    )


def run_demo(workdir: Path, settings: Context, console: Console) -> dict[str, Any]:
    """The whole main job offline: one-off drafts for every contact, then a 30-day campaign."""
    prepare_workdir(workdir)
    db_url = f"sqlite:///{workdir / 'coachgraph.db'}"
    crm = load_demo_crm(db_url)
    contacts = crm.list_contacts()
    context = demo_context(db_url, settings)
    mode = "model " + context.llm_model if context.llm_configured else "offline composer"
    console.print(
        f"[bold]coachgraph demo[/]: {len(contacts)} contacts, {len(crm.company_domains())} "
        f"companies, {mode}, now={context.now}"
    )
    results = []
    with console.status("drafting…") as status:
        for i, result in enumerate(draft_many((c["id"] for c in contacts), context), start=1):
            status.update(f"drafting… {i}/{len(contacts)}")
            results.append(result)
    console.print(_table(contacts, results))
    for sample in _samples(results):
        console.print(
            f"\n[bold]Sample {sample['action']} draft for {sample['contact_id']}[/] "
            f"(roles {', '.join(sample['graph_meta']['role_plan'])}; "
            f"{escape(sample['provenance']['draft']['reason'])}):",
            highlight=False,
        )
        draft = sample["draft"]
        console.print(
            f"Subject: {draft['subject']}\n\n{draft['body']}", markup=False, highlight=False
        )
    counts = Counter(r["action"] for r in results)
    console.print(
        "drafted {d} (review passed {p}), replies {r}, blocked {b}, skipped {s}".format(
            d=counts["compose"] + counts["reply"],
            p=sum(bool(r["graph_meta"]["review_passed"]) for r in results),
            r=counts["reply"],
            b=counts["blocked"],
            s=counts["skip"],
        )
    )
    campaign = run_campaign_demo(context, console)
    console.print(f"database: {workdir / 'coachgraph.db'}  (COACHGRAPH_DB={db_url})")
    return {"drafts": results, "campaign": campaign}


def _samples(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first first-touch draft and the first reply, to show what a person approves."""
    picks = []
    for action in ("compose", "reply"):
        picks.extend([r for r in results if r["action"] == action and r["draft"]][:1])
    return picks


def _table(contacts: list[Any], results: list[dict[str, Any]]) -> Table:
    table = Table(title="One draft per contact", show_lines=False)
    for column in ("contact", "company", "action", "why / subject", "review"):
        table.add_column(column, overflow="fold")
    for contact, result in zip(contacts, results, strict=True):
        name = " ".join(p for p in (contact["first_name"], contact["last_name"]) if p)
        company = (contact["company_domain"] or "").removesuffix(".example")
        detail, review = _outcome(result)
        table.add_row(
            escape(f"{contact['id']} {name}"), escape(company), result["action"], detail, review
        )
    return table


def _outcome(result: dict[str, Any]) -> tuple[str, str]:
    """The table's why/subject and review cells (user text escaped, our markup kept)."""
    if result["action"] == "blocked":
        return f"[red]{result['blocked_reason']}[/]", "-"
    if result["action"] == "skip":
        return escape(result.get("skip_reason") or ""), "-"
    if result["graph_meta"]["review_passed"]:
        return escape(result["draft"]["subject"]), "[green]passed[/]"
    notes = escape("; ".join(result["graph_meta"]["review_notes"]))
    return escape(result["draft"]["subject"]), f"[yellow]flagged: {notes}[/]"
