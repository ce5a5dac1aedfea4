"""`coachgraph eval` and `coachgraph gate` as a user runs them: offline, and over a model.

The model runs use the real `openai` client against a scripted OpenAI-compatible server on
loopback, which writes a grounded email from the data in each draft prompt (and, for the
model named "leaky-model", one with an unfilled template marker).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Run, one_line_error
from tests.integration.fake_openai import FAKE_API_KEY, FakeOpenAI
from tests.integration.scripted_model import scripted_model

pytestmark = pytest.mark.integration


@pytest.fixture
def model_env(fake_llm: FakeOpenAI) -> dict[str, str]:
    fake_llm.set_responder(scripted_model())
    return {"LLM_API_KEY": FAKE_API_KEY, "LLM_BASE_URL": fake_llm.base_url, "LLM_MAX_ATTEMPTS": "1"}


def test_eval_offline_reports_every_path_as_json(cli: Callable[..., Run], clean_env: None) -> None:
    run = cli("eval", "--json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert [p["path"].split(":")[-1] for p in report["paths"]] == [
        "final_response",
        "plan_coercion",
        "role_plan_repair",
        "review_verdicts",
        "node_paths",
        "sequences",
        "replies",
    ]
    assert all(p["mean"] >= 0.8 and p["passes_gate"] for p in report["paths"])
    assert report["config"]["model_path"] is False
    assert report["config"]["judge"] is False


def test_eval_table_shows_failures_with_ids(
    cli: Callable[..., Run], clean_env: None, tmp_path: Path
) -> None:
    record = {
        "id": "wrong-on-purpose",
        "inputs": {"subject": "Hello", "body": "Hi {{first_name}}"},
        "reference_outputs": {"passed": True, "notes": []},
    }
    (tmp_path / "review_verdicts.jsonl").write_text(json.dumps(record) + "\n")
    run = cli("eval", "--dataset", "review_verdicts", "--datasets-dir", str(tmp_path))
    assert run.code == 0, run.err
    assert "below gate" in run.out
    assert "wrong-on-purpose: verdict_exact: passed: got False, expected True" in run.out


def test_gate_promotes_the_role_leader_offline_and_writes_the_report(
    cli: Callable[..., Run], clean_env: None, tmp_path: Path
) -> None:
    report_path = tmp_path / "gate.json"
    run = cli("gate", "--flag", "ORCHESTRATOR_ROLE_PLAN", "--report", str(report_path))
    assert run.code == 0, run.err
    assert "PROMOTE (exit 0)" in run.out
    report = json.loads(report_path.read_text())
    assert report["decision"] == "PROMOTE"
    assert {p["verdict"] for p in report["paths"]} == {"ok"}


def test_gate_holds_on_too_few_examples(
    cli: Callable[..., Run], clean_env: None, tmp_path: Path
) -> None:
    source = Path(__file__).parents[2] / "evals" / "datasets"
    affected = ("campaign_final_response", "campaign_sequences", "orchestrator_replies")
    for name in (*affected, "coach_plan_coercion"):
        lines = (source / f"{name}.jsonl").read_text().splitlines()[:3]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    run = cli("gate", "--flag", "CAMPAIGN_COACH_ENABLED", "--datasets-dir", str(tmp_path), "--json")
    assert run.code == 1, run.err
    assert json.loads(run.out)["decision"] == "HOLD"


def test_bad_gate_and_eval_arguments_are_one_line_errors(
    cli: Callable[..., Run], clean_env: None
) -> None:
    assert "unknown setting 'NOPE'" in one_line_error(cli("gate", "--flag", "NOPE"))
    assert "unknown dataset 'nope'" in one_line_error(cli("eval", "--dataset", "nope"))
    assert "LLM_TIMEOUT_S" in one_line_error(cli("eval", "--flags", "LLM_TIMEOUT_S=abc"))


def test_eval_runs_the_model_path_end_to_end_with_the_judge(
    cli: Callable[..., Run], clean_env: None, fake_llm: FakeOpenAI, model_env: dict[str, str]
) -> None:
    run = cli("eval", "--dataset", "final_response", "--json", "--concurrency", "2", **model_env)
    assert run.code == 0, run.err
    report = json.loads(run.out)
    path = report["paths"][0]
    assert report["config"]["model_path"] is True
    assert report["config"]["judge"] is True
    assert path["examples"] == 47
    assert path["mean"] >= 0.8, path["failures"]
    assert path["composers"] == {"llm": 47}
    assert path["by_evaluator"]["judge_quality"] == 1.0
    kinds = [r.kind for r in fake_llm.requests]
    assert kinds.count("draft") == 47
    assert kinds.count("other") == 47  # one judge call per drafted email
    assert FAKE_API_KEY not in run.out + run.err


def test_gate_rolls_back_a_model_that_leaks_template_markers(
    cli: Callable[..., Run],
    clean_env: None,
    fake_llm: FakeOpenAI,
    model_env: dict[str, str],
    tmp_path: Path,
) -> None:
    report_path = tmp_path / "gate.json"
    run = cli(
        "gate",
        "--flag",
        "LLM_MODEL=leaky-model",
        "--no-judge",
        "--report",
        str(report_path),
        **model_env,
    )
    assert run.code == 2, run.out + run.err
    report = json.loads(report_path.read_text())
    assert report["decision"] == "ROLLBACK"
    final = report["paths"][0]
    assert final["path"].endswith("final_response")
    assert final["baseline"] >= 0.8 > final["candidate"]
    assert "{{first_name}}" in json.dumps(final["candidate_failures"])
    models = {r.body["model"] for r in fake_llm.requests if r.kind == "draft"}
    assert models == {"deepseek-v4-flash", "leaky-model"}
