"""`coachgraph worker`: a Procrastinate worker on Postgres (SPEC §9), one of any number."""

from __future__ import annotations

import click

from coachgraph.cli.app import _context, _crm, app
from coachgraph.runner.worker import WorkerSettings, require_postgres, run_worker


@app.command("worker")
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Jobs (threads) this worker runs at once.",
)
@click.option(
    "--stalled-after",
    "stalled_after_s",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds without a heartbeat before a worker's jobs go to another worker.",
)
def worker_command(concurrency: int, stalled_after_s: float) -> None:
    """Run due threads and decisions as jobs shared by every worker on this Postgres.

    A periodic tick (once a minute, across all workers) queues one job per due thread.
    SIGTERM or Ctrl-C: finish the jobs held, take nothing new, exit. A worker killed
    outright has its jobs retried by another after --stalled-after seconds.
    """
    context = _context()
    require_postgres(context.db_url)
    _crm()  # an uninitialised database fails here, in one line
    run_worker(context, concurrency, WorkerSettings(stalled_after_s=stalled_after_s))
