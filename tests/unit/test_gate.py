"""The gate's decision rule and the dataset loader, on results built by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from coachgraph.config.settings import load_settings
from evals.datasets import SPECS, load_dataset, load_datasets, spec_for
from evals.gate import decide, noise_margin, parse_flip
from evals.runner import EvalRun, ExampleResult, PathResult
from schemas.errors import UserError


def path(passed: int, total: int) -> PathResult:
    result = PathResult(spec=SPECS[0], digest="x")
    for i in range(total):
        ok = i < passed
        result.examples.append(
            ExampleResult(f"r{i}", 1.0 if ok else 0.0, {}, [] if ok else ["x: bad"], {})
        )
    return result


def run(*paths: PathResult) -> EvalRun:
    return EvalRun(config={}, paths=list(paths))


def test_promote_when_every_path_clears_the_gate_and_holds() -> None:
    decision, verdicts = decide(run(path(40, 40)), run(path(39, 40)))
    assert decision == "PROMOTE"
    assert verdicts[0].verdict == "ok"


def test_rollback_when_the_candidate_falls_below_the_gate() -> None:
    decision, verdicts = decide(run(path(40, 40)), run(path(30, 40)))
    assert decision == "ROLLBACK"
    assert verdicts[0].verdict == "regressed"
    assert verdicts[0].candidate_failures[0]["reasons"] == ["x: bad"]


def test_rollback_when_the_candidate_drops_beyond_noise_while_above_the_gate() -> None:
    decision, _ = decide(run(path(100, 100)), run(path(88, 100)))
    assert decision == "ROLLBACK"


def test_a_drop_within_noise_is_not_a_regression() -> None:
    decision, _ = decide(run(path(40, 40)), run(path(38, 40)))
    assert decision == "PROMOTE"


def test_hold_when_too_few_examples() -> None:
    decision, verdicts = decide(run(path(5, 5)), run(path(5, 5)))
    assert decision == "HOLD"
    assert verdicts[0].verdict == "too_few"


def test_hold_when_both_are_below_the_gate() -> None:
    decision, verdicts = decide(run(path(20, 40)), run(path(21, 40)))
    assert decision == "HOLD"
    assert verdicts[0].verdict == "below_gate"


def test_one_regressed_path_rolls_back_the_whole_flip() -> None:
    decision, _ = decide(run(path(40, 40), path(40, 40)), run(path(40, 40), path(0, 40)))
    assert decision == "ROLLBACK"


def test_noise_margin_has_a_floor_and_shrinks_with_more_examples() -> None:
    assert noise_margin(1.0, 1.0, 40) == 0.02
    assert noise_margin(0.9, 0.9, 400) < noise_margin(0.9, 0.9, 40)


def test_parse_flip_for_flags_and_values(clean_env: None) -> None:
    settings = load_settings()
    flip = parse_flip("orchestrator_role_plan", settings)
    assert (flip.name, flip.baseline, flip.candidate) == ("ORCHESTRATOR_ROLE_PLAN", False, True)
    assert "node_paths" in flip.paths
    model = parse_flip("LLM_MODEL=other-model", settings)
    assert (model.baseline, model.candidate) == ("deepseek-v4-flash", "other-model")
    with pytest.raises(UserError, match="unknown setting 'NOPE'"):
        parse_flip("NOPE", settings)
    with pytest.raises(UserError, match="not an on/off flag"):
        parse_flip("LLM_MODEL", settings)
    with pytest.raises(UserError, match="already the current value"):
        parse_flip("LLM_MODEL=deepseek-v4-flash", settings)


def test_every_packaged_dataset_loads_with_enough_records() -> None:
    sizes = {d.spec.kind: len(d.records) for d in load_datasets()}
    assert sizes["final_response"] >= 40
    assert min(sizes.values()) >= 25


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2: not JSON"),
        ('{"id": "a", "inputs": {}}', "line 2, field reference_outputs: Field required"),
        ('{"id": "A B", "inputs": {}, "reference_outputs": {}}', "must be lower-case"),
        ('{"id": "ok", "inputs": {}, "reference_outputs": {}}', "id 'ok' repeats line 1"),
    ],
)
def test_a_bad_dataset_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    spec = spec_for("review_verdicts")
    good = '{"id": "ok", "inputs": {}, "reference_outputs": {}}'
    (tmp_path / spec.file).write_text(f"{good}\n{line}\n")
    with pytest.raises(UserError, match=message):
        load_dataset(spec, tmp_path)
