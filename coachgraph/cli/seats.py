"""Seat chart commands: check and show (SPEC §12, §16)."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from coachgraph.cli.app import _print_json, app, json_option, out, text
from coachgraph.config.settings import load_settings
from schemas.seats import SeatChart


def _chart(file: str | None) -> SeatChart:
    """The chart in `file`, else the one COACHGRAPH_SEATS names, else the shipped one."""
    return SeatChart.load(file or load_settings().seats)


@app.group("seats")
def seats_group() -> None:
    """The seat chart: each agent seat, its one owner, and who may delegate to whom."""


@seats_group.command("check")
@click.argument("file", required=False)
@json_option
def seats_check(file: str | None, as_json: bool) -> None:
    """Validate FILE (default: COACHGRAPH_SEATS, else the shipped chart)."""
    chart = _chart(file)
    chain = chart.deepest_chain()
    if as_json:
        _print_json(_summary(chart, chain))
        return
    roots = chart.roots()
    text.print(
        f"seat chart OK: {len(chart.seats)} seats, {len(roots)} root(s) ({', '.join(roots)}), "
        f"deepest chain {len(chain) - 1} ({' → '.join(chain)}) — {chart.source}",
        soft_wrap=True,
    )


def _summary(chart: SeatChart, chain: list[str]) -> dict[str, object]:
    return {
        "source": chart.source,
        "ok": True,
        "seats": len(chart.seats),
        "max_depth": len(chain) - 1,
        "roots": chart.roots(),
        "deepest_chain": chain,
    }


@seats_group.command("show")
@json_option
def seats_show(as_json: bool) -> None:
    """Print the seat chart in use (COACHGRAPH_SEATS, else the shipped chart)."""
    chart = _chart(None)
    if as_json:
        _print_json(chart.as_dict())
        return
    table = Table(title=escape(chart.source))
    for column in ("seat", "owner", "job", "delegates to", "depth"):
        table.add_column(column)
    for seat in chart.as_dict()["seats"]:
        cells = (seat["name"], seat["owner"], seat["job"], ", ".join(seat["delegates_to"]))
        table.add_row(*(escape(cell) for cell in cells), str(seat["depth"]))
    out.print(table)
