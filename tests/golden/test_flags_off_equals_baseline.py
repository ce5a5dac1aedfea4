"""With every flag unset, the orchestrator's output equals the baseline graph's, byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from coachgraph.runner.drafting import draft_many
from coachgraph.store.crm import CrmStore
from graphs.email_orchestrator import build_baseline_orchestrator, build_email_orchestrator
from schemas.context import Context

pytestmark = pytest.mark.golden

SNAPSHOT = Path(__file__).parent / "email_orchestrator.mmd"
GOLDEN_DEMO = Path(__file__).parent / "demo_flags_off.json"


def _dump(results: list[dict[str, object]]) -> bytes:
    return json.dumps(results, sort_keys=True, ensure_ascii=False).encode("utf-8")


def test_flags_off_output_is_byte_identical_to_baseline(
    crm: CrmStore, make_context: Callable[..., Context]
) -> None:
    ids = [c["id"] for c in crm.list_contacts()]
    context = make_context()
    assert not (context.orchestrator_role_plan or context.campaign_coach_enabled)
    baseline = list(draft_many(ids, context, build_baseline_orchestrator()))
    flagged = list(draft_many(ids, context, build_email_orchestrator()))
    assert _dump(flagged) == _dump(baseline)
    assert {r["action"] for r in baseline} == {"compose", "reply", "blocked"}
    assert all("plan_roles" not in r["path"] for r in flagged)


def test_flag_on_changes_only_the_path_and_role_plan_provenance(
    crm: CrmStore, make_context: Callable[..., Context]
) -> None:
    # With no key the leader fails open to the default plan: same drafts, one more node.
    ids = [c["id"] for c in crm.list_contacts()]
    off = list(draft_many(ids, make_context()))
    on = list(draft_many(ids, make_context(orchestrator_role_plan=True)))
    for a, b in zip(off, on, strict=True):
        assert a["draft"] == b["draft"]
        if b["action"] in {"compose", "reply"}:
            assert "plan_roles" in b["path"]
            assert b["provenance"]["role_plan"]["source"] == "default"
            assert "fail-open" in b["provenance"]["role_plan"]["reason"]


def test_graph_shape_matches_snapshot(request: pytest.FixtureRequest) -> None:
    drawn = build_email_orchestrator().compile().get_graph(xray=1).draw_mermaid()
    if request.config.getoption("--update-snapshots"):
        SNAPSHOT.write_text(drawn)
    assert drawn == SNAPSHOT.read_text(), "graph shape changed: rerun with --update-snapshots"


@pytest.mark.parametrize("name", ["email_orchestrator", "campaign"])
def test_readme_shows_the_current_graphs(name: str) -> None:
    from coachgraph.cli.diagrams import readme_block

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert readme_block(name) in readme, "README diagram is stale: run make diagrams"


def test_campaign_graph_shape_matches_snapshot(request: pytest.FixtureRequest) -> None:
    from coachgraph.cli.diagrams import render

    snapshot = Path(__file__).parent / "campaign.mmd"
    if request.config.getoption("--update-snapshots"):
        snapshot.write_text(render("campaign"))
    assert render("campaign") == snapshot.read_text(), "rerun with --update-snapshots"


def test_demo_with_flags_unset_matches_the_frozen_golden_output(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Through the real console script, with no flag, key or clock in the environment, so a
    # change to what flags-off produces shows up here even when both graphs change alike.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LLM_", "DEEPSEEK", "COACHGRAPH", "CAMPAIGN_", "ORCHESTRATOR_"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "coachgraph", "demo", "--json", "--dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if request.config.getoption("--update-snapshots"):
        GOLDEN_DEMO.write_text(done.stdout)
    assert done.stdout == GOLDEN_DEMO.read_text(), (
        "flags-off output changed: if intended, rerun with --update-snapshots and review the diff"
    )
