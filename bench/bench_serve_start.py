"""How long `coachgraph serve` takes from launch to answering /healthz (target: under 2 s).

Run from the repository root::

    .venv/bin/python bench/bench_serve_start.py --repeat 5

Each run starts the real console script over an initialised SQLite database on a free
loopback port and polls `/healthz` until it answers; the median and the spread are
printed, beside `coachgraph --version` measured the same way (the command line's own
import cost, which every command pays). Nothing is asserted: this machine is shared, so
read the two side by side.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TARGET_S = 2.0
COACHGRAPH = Path(sys.executable).with_name("coachgraph")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_start(env: dict[str, str]) -> float:
    """Seconds from launching `coachgraph serve` to its first /healthz answer."""
    port = free_port()
    started = time.monotonic()
    server = subprocess.Popen(
        [str(COACHGRAPH), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5):
                    return time.monotonic() - started
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("coachgraph serve exited before answering") from None
                time.sleep(0.02)
    finally:
        server.terminate()
        server.wait(timeout=10)


def version_time(env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run([str(COACHGRAPH), "--version"], env=env, check=True, capture_output=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coachgraph-bench-") as tmp:
        env = os.environ | {
            "COACHGRAPH_DB": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "COACHGRAPH_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        }
        subprocess.run([str(COACHGRAPH), "init"], env=env, check=True, capture_output=True)
        serve = [serve_start(env) for _ in range(args.repeat)]
        version = [version_time(env) for _ in range(args.repeat)]
    for name, times in (("serve → /healthz", serve), ("--version", version)):
        print(
            f"{name:18} median {statistics.median(times):.2f} s  "
            f"(min {min(times):.2f}, max {max(times):.2f}, n={len(times)})"
        )
    verdict = "met" if statistics.median(serve) < TARGET_S else "missed"
    print(f"target: serve under {TARGET_S:.0f} s — {verdict}")


if __name__ == "__main__":
    main()
