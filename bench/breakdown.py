"""Where a tick's time goes, per thread: wall and CPU by phase, exclusive of nested phases.

Investigation tooling for bench/tick_bench.py (``--only breakdown``), not a benchmark with
a baseline. It wraps product functions in this process only (never edits them), so it
leans on internal names; a phase whose function has moved is reported as missing rather
than failing the run. CPU is `time.thread_time` (this thread's CPU, so load from other
processes on the box does not count); wall includes waiting for locks, fsync and the GIL.
Run it at concurrency 1 so nested phases nest cleanly in one thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Frame:
    name: str
    wall: float
    cpu: float
    child_wall: float = 0.0
    child_cpu: float = 0.0


@dataclass
class PhaseTimer:
    """Exclusive wall/CPU per named phase, with a per-thread stack of open phases."""

    wall: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    absorbing: tuple[str, ...] = ("due index", "checkpointer: prune")
    """Phases whose nested phases (their SQL) are counted as theirs."""
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        stack: list[_Frame] = self._local.__dict__.setdefault("stack", [])
        if stack and stack[-1].name.startswith(self.absorbing):
            yield
            return
        frame = _Frame(name, time.perf_counter(), time.thread_time())
        stack.append(frame)
        try:
            yield
        finally:
            stack.pop()
            wall = time.perf_counter() - frame.wall
            cpu = time.thread_time() - frame.cpu
            if stack:
                stack[-1].child_wall += wall
                stack[-1].child_cpu += cpu
            with self._lock:
                self.wall[name] += wall - frame.child_wall
                self.cpu[name] += cpu - frame.child_cpu
                self.calls[name] += 1

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                return fn(*args, **kwargs)

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed

    def wrap_cm(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Time a context-manager method over the whole `with` body."""

        @contextlib.contextmanager
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            with self.phase(name), fn(*args, **kwargs) as value:
                yield value

        return timed


@contextlib.contextmanager
def instrumented(timer: PhaseTimer) -> Iterator[list[str]]:
    """Wrap the tick's phases for the duration; yields the phases that could not be found."""
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.store.sqlite import SqliteStore

    import coachgraph.runner.tick as campaigns
    import graphs.campaign as campaign_graph
    from coachgraph.llm import client as llm
    from coachgraph.store import due_index
    from coachgraph.store.crm import CrmStore

    missing: list[str] = []
    undo: list[Callable[[], None]] = []

    def patch(owner: Any, attr: str, name: str, cm: bool = False) -> None:
        original = getattr(owner, attr, None)
        if original is None:
            missing.append(f"{getattr(owner, '__name__', owner)}.{attr}")
            return
        setattr(owner, attr, (timer.wrap_cm if cm else timer.wrap)(name, original))
        undo.append(lambda: setattr(owner, attr, original))

    patch(campaigns, "_advance", "tick: _advance (rest)")
    patch(campaigns, "run_thread", "campaign graph: langgraph + nodes")
    patch(due_index, "claim", "due index: claim (write txn)")
    patch(due_index, "record", "due index: record (write txn)")
    patch(campaigns, "prune_thread", "checkpointer: prune (write txn)")
    patch(CrmStore, "connect", "CRM reads in nodes (SQLAlchemy + sqlite)", cm=True)
    patch(llm.JsonLLM, "_once", "model request (openai SDK + HTTP)")
    for attr in ("put", "put_writes"):
        patch(SqliteSaver, attr, "checkpointer: put / put_writes")
    patch(SqliteSaver, "get_tuple", "checkpointer: get_tuple")
    patch(SqliteStore, "batch", "store: batch (recall_memory)")

    # The campaign graph's own invoke/get_state, and the orchestrator it delegates to.
    real_runtime = campaigns.campaign_runtime

    @contextlib.contextmanager
    def runtime(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with real_runtime(*args, **kwargs) as rt:
            rt.app.get_state = timer.wrap("tick: get_state", rt.app.get_state)
            yield rt

    campaigns.campaign_runtime = runtime
    undo.append(lambda: setattr(campaigns, "campaign_runtime", real_runtime))

    real_builder = campaign_graph.build_email_orchestrator

    class _Builder:
        def __init__(self, graph: Any) -> None:
            self.graph = graph

        def compile(self, *args: Any, **kwargs: Any) -> Any:
            app = self.graph.compile(*args, **kwargs)
            app.invoke = timer.wrap("orchestrator subgraph: langgraph + nodes", app.invoke)
            return app

    campaign_graph.build_email_orchestrator = lambda *a, **k: _Builder(real_builder(*a, **k))  # type: ignore[assignment]
    undo.append(lambda: setattr(campaign_graph, "build_email_orchestrator", real_builder))
    try:
        yield missing
    finally:
        for step in reversed(undo):
            step()


def table(timer: PhaseTimer, threads: int) -> list[dict[str, Any]]:
    """Phases by exclusive CPU, per thread, in milliseconds."""
    rows = [
        {
            "phase": name,
            "calls_per_thread": timer.calls[name] / threads,
            "cpu_ms": 1000 * timer.cpu[name] / threads,
            "wall_ms": 1000 * timer.wall[name] / threads,
        }
        for name in timer.calls
    ]
    rows.sort(key=lambda r: -r["cpu_ms"])
    return rows
