"""`coachgraph eval` and `coachgraph gate`: golden-dataset evals and the release gate."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from coachgraph.cli.app import _print_json, err, json_option, out, text
from coachgraph.config.settings import load_settings
from evals.datasets import load_datasets
from evals.gate import EXIT_CODES, parse_flip, run_gate, setting_overrides
from evals.runner import GATE, EvalRun, run_evals
from schemas.context import Context
from schemas.errors import UserError

FAILURES_SHOWN = 8
"""Failures listed per path in the table view; `--json` lists them all."""


def run_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options `eval` and `gate` share: datasets, concurrency, upload, judge, --json."""
    for option in reversed(
        (
            click.option(
                "--datasets-dir",
                type=click.Path(file_okay=False, path_type=Path),
                help="Read the golden JSONL files from here instead of the packaged ones.",
            ),
            click.option(
                "--concurrency",
                type=click.IntRange(0, 64),
                default=4,
                show_default=True,
                help="Examples run at once (0 runs them one by one in this thread).",
            ),
            click.option(
                "--upload/--no-upload",
                default=True,
                help="With LANGSMITH_API_KEY set, sync datasets and upload experiments (default).",
            ),
            click.option(
                "--judge/--no-judge",
                default=True,
                help="With a model key set, add the LLM judge to the final-email path (default).",
            ),
            json_option,
        )
    ):
        command = option(command)
    return command


@click.command("eval")
@click.option("--dataset", "names", multiple=True, help="A dataset (repeatable); default: all.")
@click.option("--flags", help="Settings for this run: NAME[=VALUE],… (a bare NAME means true).")
@run_options
def eval_command(
    names: tuple[str, ...],
    flags: str | None,
    datasets_dir: Path | None,
    concurrency: int,
    upload: bool,
    judge: bool,
    as_json: bool,
) -> None:
    """Run the golden datasets offline (LangSmith `evaluate`); a table per prompt path."""
    overrides = setting_overrides([f for f in (flags or "").split(",") if f.strip()])
    context = load_settings(**overrides)
    datasets = load_datasets(list(names), datasets_dir)
    options = _run_options(context, concurrency, upload, judge)
    with _progress(as_json) as progress:
        run = run_evals(datasets, context, progress=progress, **options)
    if as_json:
        _print_json(run.as_dict())
        return
    _print_paths(run)


@click.command("gate")
@click.option("--flag", "flag", required=True, help="NAME (off → on) or NAME=VALUE to gate.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the JSON report goes (default .coachgraph/reports/gate-NAME-TIME.json).",
)
@run_options
def gate_command(
    flag: str,
    report_path: Path | None,
    datasets_dir: Path | None,
    concurrency: int,
    upload: bool,
    judge: bool,
    as_json: bool,
) -> None:
    """Compare a flag off (baseline) and on (candidate): PROMOTE 0, HOLD 1, ROLLBACK 2."""
    context = load_settings()
    flip = parse_flip(flag, context)
    datasets = load_datasets(list(flip.paths), datasets_dir)
    options = _run_options(context, concurrency, upload, judge)
    with _progress(as_json) as progress:
        result = run_gate(flip, context, datasets, progress=progress, **options)
    path = report_path or _default_report(flip.name)
    _write_report(path, result)
    if as_json:
        _print_json(result | {"report": str(path)})
    else:
        _print_gate(result, path)
    raise click.exceptions.Exit(EXIT_CODES[result["decision"]])


def _run_options(context: Context, concurrency: int, upload: bool, judge: bool) -> dict[str, Any]:
    client = None
    if upload and context.langsmith_api_key is not None:
        from langsmith import Client

        client = Client(
            api_key=context.langsmith_api_key.get_secret_value(),
            api_url=context.langsmith_endpoint,
        )
    use_judge = judge and context.llm_configured and not context.llm_kill_switch
    return {"concurrency": concurrency, "client": client, "judge": use_judge}


@contextmanager
def _progress(quiet: bool) -> Iterator[Any]:
    """A progress bar per dataset on stderr (a line per dataset when stderr is not a tty)."""
    console = Console(stderr=True, emoji=False)
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    )
    tasks: dict[str, Any] = {}

    def advance(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = bars.add_task(name, total=total)
            if not console.is_terminal and not quiet:
                err.print(f"evaluating {name} ({total} examples)")
        bars.update(tasks[name], completed=done)

    with bars:
        yield advance


def _print_paths(run: EvalRun) -> None:
    table = Table(title=f"Golden evals (gate {GATE:.2f} on every path)")
    for column in ("path", "examples", "mean", "gate", "failures"):
        table.add_column(
            column, justify="right" if column in ("examples", "mean") else "left", overflow="fold"
        )
    for path in run.paths:
        ok = path.mean >= GATE
        table.add_row(
            path.spec.name,
            str(len(path.examples)),
            f"{path.mean:.3f}",
            "pass" if ok else "[red]below gate[/red]",
            str(len(path.failed)),
        )
    out.print(table)
    for path in run.paths:
        for example in path.failed[:FAILURES_SHOWN]:
            text.print(
                f"  {path.spec.name} {example.id}: {'; '.join(example.failures)}", soft_wrap=True
            )
        if len(path.failed) > FAILURES_SHOWN:
            text.print(f"  … and {len(path.failed) - FAILURES_SHOWN} more (see --json)")
    mode = "model" if run.config["model_path"] else "offline composer"
    out.print(f"[dim]{mode}; flags {run.config['flags']}[/dim]")


def _print_gate(result: dict[str, Any], path: Path) -> None:
    print_gate_paths(result)
    text.print(f"{result['decision']} (exit {result['exit_code']}); report: {path}")


def print_gate_paths(result: dict[str, Any]) -> None:
    """A gate result's table of paths, then why each path scored as it did."""
    title = f"Gate: {result['flag']} {result['baseline_value']} → {result['candidate_value']}"
    table = Table(title=escape(title))
    for column in ("path", "examples", "baseline", "candidate", "delta", "noise", "verdict"):
        table.add_column(column, overflow="fold")
    for row in result["paths"]:
        table.add_row(
            row["path"].split(":", 1)[-1],
            str(row["examples"]),
            f"{row['baseline']:.3f}",
            f"{row['candidate']:.3f}",
            f"{row['delta']:+.3f}",
            f"{row['noise']:.3f}",
            row["verdict"],
        )
    out.print(table)
    for row in result["paths"]:
        text.print(f"  {row['path']}: {row['why']}", soft_wrap=True)
        for failure in row["candidate_failures"][:FAILURES_SHOWN]:
            text.print(f"    {failure['id']}: {'; '.join(failure['reasons'])}", soft_wrap=True)


def _default_report(flag: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(".coachgraph") / "reports" / f"gate-{flag}-{stamp}.json"


def _write_report(path: Path, result: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    except OSError as exc:
        raise UserError(f"cannot write the gate report to {path}: {exc.strerror}") from None
