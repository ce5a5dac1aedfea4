"""The release gate: a flag flip's candidate against its baseline → PROMOTE, HOLD or ROLLBACK."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from coachgraph.config.settings import load_settings
from evals.datasets import Dataset
from evals.runner import GATE, EvalRun, PathResult, run_evals
from graphs.email_orchestrator import OrchestratorGraph
from schemas.context import Context
from schemas.errors import UserError

Decision = Literal["PROMOTE", "HOLD", "ROLLBACK"]
Verdict = Literal["ok", "regressed", "below_gate", "too_few"]
EXIT_CODES: dict[Decision, int] = {"PROMOTE": 0, "HOLD": 1, "ROLLBACK": 2}
MIN_EXAMPLES = 10
"""Fewer examples than this on a path cannot support a decision: HOLD."""
NOISE_FLOOR = 0.02
"""The smallest drop counted as noise, even when both runs are deterministic."""

FINAL = "final_response"
DRAFTS = (FINAL, "sequences", "replies")
"""Every path whose outputs are drafts: a first touch, a whole sequence, a reply."""
AFFECTED: dict[str, tuple[str, ...]] = {
    "CAMPAIGN_COACH_ENABLED": (*DRAFTS, "plan_coercion"),
    "ORCHESTRATOR_ROLE_PLAN": (*DRAFTS, "node_paths", "role_plan_repair"),
    "LLM_KILL_SWITCH": (*DRAFTS, "node_paths"),
}
MODEL_PATHS = (*DRAFTS, "node_paths")
"""What any other setting (a model, an endpoint, a timeout) can change: the model's paths."""


@dataclass(frozen=True)
class FlagFlip:
    """A setting's baseline value and the candidate value a deploy would switch to."""

    name: str
    baseline: Any
    candidate: Any
    paths: tuple[str, ...]


@dataclass(frozen=True)
class PathVerdict:
    """One path's comparison."""

    path: str
    examples: int
    baseline: float
    candidate: float
    noise: float
    verdict: Verdict
    why: str
    candidate_failures: list[dict[str, Any]] = field(default_factory=list)


def parse_flip(spec: str, settings: Context) -> FlagFlip:
    """`NAME` (a boolean flag, off → on) or `NAME=VALUE` (current value → VALUE)."""
    name, _, value = spec.partition("=")
    name = name.strip().upper()
    field_name = field_for(name)
    current = getattr(settings, field_name)
    if not value:
        if not isinstance(current, bool):
            raise UserError(f"{name} is not an on/off flag: give the candidate as {name}=VALUE")
        baseline, candidate = False, True
    else:
        candidate = getattr(load_settings(**{name: value.strip()}), field_name)
        baseline = current
    if baseline == candidate:
        raise UserError(f"{name}={value or 'true'} is already the current value; nothing to gate")
    return FlagFlip(name, baseline, candidate, AFFECTED.get(name, MODEL_PATHS))


def contexts_for(flip: FlagFlip, context: Context) -> tuple[Context, Context]:
    """The baseline and candidate contexts: the same run, one setting apart."""
    field_name = field_for(flip.name)
    return _with(context, field_name, flip.baseline), _with(context, field_name, flip.candidate)


def setting_overrides(specs: list[str]) -> dict[str, str]:
    """`NAME[=VALUE]` pairs as settings overrides by environment name; a bare NAME means true."""
    overrides = {}
    for spec in specs:
        name, _, value = spec.partition("=")
        name = name.strip().upper()
        field_for(name)
        overrides[name] = value.strip() if value else "true"
    return overrides


def run_gate(
    flip: FlagFlip,
    context: Context,
    datasets: list[Dataset],
    *,
    candidate_graph: OrchestratorGraph | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run the affected paths with the flag off and on; return the decision report."""
    base_ctx, cand_ctx = contexts_for(flip, context)
    baseline = run_evals(datasets, base_ctx, **options)
    candidate = run_evals(datasets, cand_ctx, graph=candidate_graph, **options)
    decision, verdicts = decide(baseline, candidate)
    return report(flip, decision, verdicts, baseline, candidate)


def run_instructions_gate(
    seat: str,
    baseline: tuple[str, str | None],
    candidate: tuple[str, str],
    context: Context,
    datasets: list[Dataset],
    **options: Any,
) -> dict[str, Any]:
    """Run the model's paths with a seat's current instructions and a proposal's.

    `baseline` and `candidate` are (label, text); a None baseline text means the shipped
    instructions.
    """
    flip = FlagFlip(f"{seat} instructions", baseline[0], candidate[0], MODEL_PATHS)
    base_text = {seat: baseline[1]} if baseline[1] is not None else None
    base_run = run_evals(datasets, context, instructions=base_text, **options)
    cand_run = run_evals(datasets, context, instructions={seat: candidate[1]}, **options)
    decision, verdicts = decide(base_run, cand_run)
    return report(flip, decision, verdicts, base_run, cand_run)


def decide(baseline: EvalRun, candidate: EvalRun) -> tuple[Decision, list[PathVerdict]]:
    """PROMOTE if every path clears the gate and holds; ROLLBACK on any regression; else HOLD."""
    verdicts = [compare(b, c) for b, c in zip(baseline.paths, candidate.paths, strict=True)]
    kinds = {v.verdict for v in verdicts}
    if "regressed" in kinds:
        return "ROLLBACK", verdicts
    if kinds == {"ok"}:
        return "PROMOTE", verdicts
    return "HOLD", verdicts


def compare(base: PathResult, cand: PathResult) -> PathVerdict:
    """Judge one path: a drop beyond noise, or a fall from above the gate to below, regresses."""
    n = min(len(base.examples), len(cand.examples))
    b, c = base.mean, cand.mean
    noise = noise_margin(b, c, n)
    verdict, why = _verdict(n, b, c, noise)
    failures = [{"id": e.id, "reasons": e.failures} for e in cand.failed]
    return PathVerdict(base.spec.name, n, b, c, noise, verdict, why, failures)


def _verdict(n: int, b: float, c: float, noise: float) -> tuple[Verdict, str]:
    if n < MIN_EXAMPLES:
        return "too_few", f"{n} examples; at least {MIN_EXAMPLES} are needed to decide"
    if c < b - noise:
        return "regressed", (
            f"candidate {c:.2f} is below baseline {b:.2f} by more than the noise ({noise:.2f})"
        )
    if c < GATE <= b:
        return "regressed", f"candidate {c:.2f} falls below the {GATE:.2f} gate; baseline {b:.2f}"
    if c < GATE:
        return "below_gate", f"candidate {c:.2f} and baseline {b:.2f} are both below {GATE:.2f}"
    return "ok", f"candidate {c:.2f} clears the {GATE:.2f} gate and holds against baseline {b:.2f}"


def noise_margin(b: float, c: float, n: int) -> float:
    """1.96 standard errors of the difference of two pass rates over n examples each."""
    if n == 0:
        return 0.0
    se = math.sqrt((b * (1 - b) + c * (1 - c)) / n)
    return max(NOISE_FLOOR, 1.96 * se)


def report(
    flip: FlagFlip,
    decision: Decision,
    verdicts: list[PathVerdict],
    baseline: EvalRun,
    candidate: EvalRun,
) -> dict[str, Any]:
    """The gate's JSON report: decision, per-path scores and reasons, both configurations."""
    return {
        "flag": flip.name,
        "baseline_value": flip.baseline,
        "candidate_value": flip.candidate,
        "decision": decision,
        "exit_code": EXIT_CODES[decision],
        "gate": GATE,
        "min_examples": MIN_EXAMPLES,
        "paths": [
            {
                "path": v.path,
                "examples": v.examples,
                "baseline": round(v.baseline, 4),
                "candidate": round(v.candidate, 4),
                "delta": round(v.candidate - v.baseline, 4),
                "noise": round(v.noise, 4),
                "verdict": v.verdict,
                "why": v.why,
                "candidate_failures": v.candidate_failures,
            }
            for v in verdicts
        ],
        "baseline_config": baseline.config,
        "candidate_config": candidate.config,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def field_for(env_name: str) -> str:
    """The Context field an environment name (`ORCHESTRATOR_ROLE_PLAN`) sets."""
    for name, info in Context.model_fields.items():
        alias = info.validation_alias
        names = {alias} if isinstance(alias, str) else set(getattr(alias, "choices", ()))
        if env_name in names:
            return name
    known = ", ".join(AFFECTED)
    raise UserError(f"unknown setting {env_name!r}: gate a flag such as {known}")


def _with(context: Context, field_name: str, value: Any) -> Context:
    if field_name not in Context.model_fields:
        raise UserError(f"{field_name} does not change a graph run, so a gate cannot compare it")
    return context.replace(**{field_name: value})
