"""Run golden datasets through LangSmith's `evaluate`: offline by default, uploaded with a key."""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
import threading
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langsmith import Client, evaluate, tracing_context
from langsmith.schemas import Example

from coachgraph.runner.door import ensure_door
from coachgraph.runner.drafting import orchestrator
from coachgraph.store.crm import CrmStore
from coachgraph.store.prompts import install_current
from evals.datasets import GRAPH_KINDS, ID_NAMESPACE, Dataset, DatasetSpec
from evals.evaluators import BY_KIND, Evaluator
from evals.scenarios import EVAL_NOW, load_scenarios
from evals.targets import Runner, Target, target_for
from graphs.email_orchestrator import OrchestratorGraph
from schemas.context import Context

GATE = 0.80
"""Every prompt path must score at least this (SPEC §14)."""
Progress = Callable[[str, int, int], None]
"""Called as (dataset name, examples done, examples in the dataset)."""


@dataclass(frozen=True)
class ExampleResult:
    """One example's outcome: its score (the lowest of its evaluators) and what failed."""

    id: str
    score: float
    scores: dict[str, float]
    failures: list[str]
    outputs: dict[str, Any]


@dataclass
class PathResult:
    """One prompt path (dataset): every example's result."""

    spec: DatasetSpec
    digest: str
    examples: list[ExampleResult] = field(default_factory=list)
    experiment: str | None = None

    @property
    def mean(self) -> float:
        """Mean example score; 0 for a path with no examples."""
        return sum(e.score for e in self.examples) / len(self.examples) if self.examples else 0.0

    @property
    def failed(self) -> list[ExampleResult]:
        """Examples that missed on at least one evaluator."""
        return [e for e in self.examples if e.score < 1.0]

    def by_evaluator(self) -> dict[str, float]:
        """Mean score per evaluator over the examples it scored."""
        seen: dict[str, list[float]] = {}
        for example in self.examples:
            for key, value in example.scores.items():
                seen.setdefault(key, []).append(value)
        return {k: round(sum(v) / len(v), 4) for k, v in seen.items()}

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `coachgraph eval --json`, per path."""
        return {
            "path": self.spec.name,
            "dataset_version": self.digest,
            "examples": len(self.examples),
            "mean": round(self.mean, 4),
            "passes_gate": self.mean >= GATE,
            "by_evaluator": self.by_evaluator(),
            "composers": dict(
                Counter(c for e in self.examples if (c := e.outputs.get("composer")))
            ),
            "failures": [{"id": e.id, "reasons": e.failures} for e in self.failed],
            "experiment": self.experiment,
        }


@dataclass
class EvalRun:
    """Every path of one run, with the configuration it ran under."""

    config: dict[str, Any]
    paths: list[PathResult]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `coachgraph eval --json`."""
        return {
            "gate": GATE,
            "config": self.config,
            "paths": [p.as_dict() for p in self.paths],
        }


def run_config(context: Context, datasets: list[Dataset], *, judge: bool) -> dict[str, Any]:
    """What an experiment ran under: flags, models, dataset versions; never a secret."""
    return {
        "flags": {
            "CAMPAIGN_COACH_ENABLED": context.campaign_coach_enabled,
            "ORCHESTRATOR_ROLE_PLAN": context.orchestrator_role_plan,
            "LLM_KILL_SWITCH": context.llm_kill_switch,
        },
        "model_path": context.llm_configured and not context.llm_kill_switch,
        "llm_base_url": context.llm_base_url if context.llm_configured else None,
        "models": {t: context.model_for(t) for t in ("fast", "standard", "strong")},
        "llm_max_attempts": context.llm_max_attempts,
        "judge": judge,
        "now": EVAL_NOW,
        "datasets": {d.spec.name: d.digest for d in datasets},
    }


def run_evals(
    datasets: list[Dataset],
    context: Context,
    *,
    graph: OrchestratorGraph | None = None,
    concurrency: int = 1,
    judge: bool = False,
    client: Client | None = None,
    progress: Progress | None = None,
    instructions: Mapping[str, str] | None = None,
) -> EvalRun:
    """Run every dataset's target and evaluators; upload only when given a LangSmith client.

    Graph datasets run the real email orchestrator (`graph` replaces it for a candidate)
    against a throwaway SQLite CRM built from their records, at a fixed instant; with
    `instructions` (seat → text), those seats' current instructions there.
    """
    config = run_config(context, datasets, judge=judge) | _instructions_config(instructions)
    with _scenario_runner(datasets, context, graph, instructions or {}) as runner:
        paths = [
            _run_one(d, runner, config, concurrency, judge, client, progress) for d in datasets
        ]
    return EvalRun(config=config, paths=paths)


@contextlib.contextmanager
def _scenario_runner(
    datasets: list[Dataset],
    context: Context,
    graph: OrchestratorGraph | None,
    instructions: Mapping[str, str],
) -> Iterator[Runner | None]:
    needing = [d for d in datasets if d.spec.kind in GRAPH_KINDS]
    if not needing:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="coachgraph-eval-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'eval.db'}"
        run_context = ensure_door(context.replace(db_url=db_url, now=EVAL_NOW))
        contacts = load_scenarios(db_url, needing)
        for seat, text in instructions.items():
            install_current(CrmStore(db_url), seat, text, EVAL_NOW)
        with orchestrator(run_context, graph) as app:
            yield Runner(app=app, context=run_context, contacts=contacts)


def _instructions_config(instructions: Mapping[str, str] | None) -> dict[str, Any]:
    """Which instructions a run used, by digest (the texts are in the prompt versions)."""
    if not instructions:
        return {}
    digests = {s: hashlib.sha256(t.encode()).hexdigest()[:12] for s, t in instructions.items()}
    return {"instructions": digests}


def _run_one(
    dataset: Dataset,
    runner: Runner | None,
    config: dict[str, Any],
    concurrency: int,
    judge: bool,
    client: Client | None,
    progress: Progress | None,
) -> PathResult:
    spec = dataset.spec
    target = target_for(spec.kind, runner)
    counted = _counted(target, spec.name, len(dataset.records), progress, traced=bool(client))
    # evaluate() prints an experiment banner on stdout, which would corrupt `--json`, and
    # warns that offline runs (upload_results=False) are a beta feature of the SDK.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*upload_results.*")
        results = evaluate(
            counted,
            data=_examples(dataset, _dataset_id(dataset, client)),
            evaluators=_evaluators(spec, judge, runner),
            experiment_prefix=f"coachgraph-{spec.kind}",
            description=spec.description,
            metadata=config,
            max_concurrency=concurrency,
            client=client or _offline_client(),
            upload_results=client is not None,
        )
        rows = list(results)
    result = PathResult(spec=spec, digest=dataset.digest, examples=_in_file_order(dataset, rows))
    result.experiment = results.experiment_name if client is not None else None
    return result


def _examples(dataset: Dataset, dataset_id: uuid.UUID) -> list[Example]:
    return [
        Example(
            id=dataset.example_id(r),
            dataset_id=dataset_id,
            inputs=r.inputs,
            outputs=r.reference_outputs,
            metadata=r.metadata | {"record_id": r.id},
        )
        for r in dataset.records
    ]


def _evaluators(
    spec: DatasetSpec, judge: bool, runner: Runner | None
) -> list[Callable[..., dict[str, Any]]]:
    evaluators = [_for_langsmith(e) for e in BY_KIND[spec.kind]]
    if judge and spec.kind == "final_response":
        from evals.judge import make_judge

        evaluators.append(make_judge(runner.context if runner else None))
    return evaluators


def _in_file_order(dataset: Dataset, rows: list[Any]) -> list[ExampleResult]:
    """One result per row, in the dataset file's order (concurrent runs finish in any)."""
    by_example = {dataset.example_id(r): r.id for r in dataset.records}
    results = {}
    for row in rows:
        record_id = by_example[row["example"].id]
        results[record_id] = _example_result(record_id, row)
    return [results[r.id] for r in dataset.records if r.id in results]


def _example_result(record_id: str, row: Any) -> ExampleResult:
    scores: dict[str, float] = {}
    failures: list[str] = []
    for feedback in row["evaluation_results"]["results"]:
        if feedback.score is None:
            if feedback.comment:
                failures.append(f"{feedback.key}: not scored ({feedback.comment})")
            continue
        scores[feedback.key] = float(feedback.score)
        if feedback.score < 1.0:
            failures.append(f"{feedback.key}: {feedback.comment}")
    outputs = dict(row["run"].outputs or {})
    if row["run"].error:
        failures.insert(0, f"target failed: {row['run'].error.strip().splitlines()[-1]}")
    score = min(scores.values()) if scores and not row["run"].error else 0.0
    return ExampleResult(record_id, score, scores, failures, outputs)


def _for_langsmith(evaluator: Evaluator) -> Callable[..., dict[str, Any]]:
    """LangSmith passes evaluator arguments by name; ours take (inputs, outputs, reference)."""

    def run(
        inputs: dict[str, Any], outputs: dict[str, Any] | None, reference_outputs: dict[str, Any]
    ) -> dict[str, Any]:
        return dict(evaluator(inputs, outputs or {}, reference_outputs or {}))

    run.__name__ = evaluator.__name__
    return run


def _counted(
    target: Target, name: str, total: int, progress: Progress | None, *, traced: bool
) -> Target:
    """Report progress per example; offline, keep the graph's own tracer from connecting."""
    done = 0
    lock = threading.Lock()

    def run(inputs: dict[str, Any]) -> dict[str, Any]:
        nonlocal done
        try:
            if traced:
                return target(inputs)
            with tracing_context(enabled=False):
                return target(inputs)
        finally:
            with lock:
                done += 1
                if progress:
                    progress(name, done, total)

    return run


def _offline_client() -> Client:
    """A client that never connects: no background tracing thread, no server info lookup."""
    return Client(
        api_key="offline-no-upload",
        api_url="http://127.0.0.1:9",
        auto_batch_tracing=False,
        info={},
    )


def _dataset_id(dataset: Dataset, client: Client | None) -> uuid.UUID:
    if client is None:
        return uuid.uuid5(ID_NAMESPACE, dataset.spec.name)
    from evals.sync import sync_dataset

    return sync_dataset(client, dataset).dataset_id
