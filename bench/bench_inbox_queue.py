"""How long the web inbox takes to render its approvals queue with 1,000 drafts waiting.

Run from the repository root::

    .venv/bin/python -m bench.bench_inbox_queue              # 1,000 drafts
    .venv/bin/python bench/bench_inbox_queue.py --drafts 200 --repeat 3

It builds the demo CRM plus N generated contacts in a temporary SQLite file, ticks a
campaign once so every thread waits at its approval interrupt, signs a user in, and times
`GET /` through the real app (Starlette's TestClient, no network). Target: under 1 s.
The time is split into reading the pending drafts (`pending_approvals`, one `get_state`
per thread) and the rest (grouping, contact names, the template). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/bench_inbox_queue.py` puts bench/ first
    sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from bench.tick_bench import context_for, make_crm  # noqa: E402
from coachgraph.runner.approvals import pending_approvals  # noqa: E402
from coachgraph.runner.campaigns import campaign_runtime  # noqa: E402
from coachgraph.runner.tick import tick  # noqa: E402
from coachgraph.store.crm import CrmStore  # noqa: E402
from coachgraph.store.users import add_user  # noqa: E402
from coachgraph.web.app import create_app  # noqa: E402

TARGET_S = 1.0
USER, PASSWORD = "bench", "bench-password"


def build(work: Path, drafts: int) -> TestClient:
    """A database with `drafts` pending drafts, and a signed-in client of the app over it."""
    path = work / "inbox.db"
    make_crm(path, drafts)
    context = context_for(path).replace(secret_key=SecretStr("bench-secret-" + "x" * 32))
    started = time.perf_counter()
    report = tick(context, concurrency=1)
    print(
        f"ticked {report.drafted} drafts in {time.perf_counter() - started:.1f} s", file=sys.stderr
    )
    add_user(CrmStore(context.db_url), USER, PASSWORD)
    client = TestClient(create_app(context), headers={"accept": "text/html"})
    client.post("/login", data={"username": USER, "password": PASSWORD})
    return client


def time_queue(client: TestClient, repeat: int) -> tuple[float, list[float], int]:
    """The first (cold) and following times of `GET /`, and the page size."""
    times, size = [], 0
    for _ in range(repeat + 1):
        started = time.perf_counter()
        page = client.get("/")
        times.append(time.perf_counter() - started)
        assert page.status_code == 200, page.status_code
        size = len(page.content)
    return times[0], times[1:], size


def time_reading(client: TestClient, repeat: int) -> float:
    """Median seconds `pending_approvals` alone takes (the part that reads checkpoints)."""
    context = client.app.state.inbox.context  # type: ignore[attr-defined]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with campaign_runtime(context) as rt:
            pending_approvals(rt)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=1000, help="pending drafts (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed renders after the first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as work:
        client = build(Path(work), args.drafts)
        cold, warm, size = time_queue(client, args.repeat)
        reading = time_reading(client, args.repeat)
        client.close()
    median = statistics.median(warm)
    print(f"queue page, {args.drafts} pending drafts ({size / 1024:.0f} KiB of HTML)")
    print(f"  first render          {cold:.3f} s")
    spread = f"(min {min(warm):.3f}, max {max(warm):.3f})"
    print(f"  median of {len(warm)} renders   {median:.3f} s  {spread}")
    print(f"  of which reading drafts (pending_approvals) {reading:.3f} s")
    print(f"  target < {TARGET_S:.1f} s: {'met' if median < TARGET_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
