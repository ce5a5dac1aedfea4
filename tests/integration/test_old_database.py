"""A database written before the package layout changed keeps resuming its threads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Run, one_line_error

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parents[1] / "fixtures" / "v1_campaign.db"


@pytest.fixture
def old_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "v1.db"
    shutil.copy(FIXTURE, path)
    monkeypatch.setenv("COACHGRAPH_DB", f"sqlite:///{path}")
    monkeypatch.setenv("COACHGRAPH_OUTBOX_DIR", str(tmp_path / "outbox"))
    return path


def data(run: Run) -> Any:
    assert run.code == 0, run
    return json.loads(run.out)


def test_an_old_database_asks_for_init_then_resumes_every_thread(
    cli: Callable[..., Run], old_db: Path
) -> None:
    assert "run `coachgraph init` to migrate" in one_line_error(cli("status"))
    assert cli("init").code == 0
    assert cli("init").code == 0  # idempotent

    waiting = {i["contact_id"]: i for i in data(cli("approvals", "list", "--json"))}
    assert set(waiting) == {"c04", "c05"} and waiting["c04"]["touch"] == 1
    approved = cli(
        "approvals", "approve", waiting["c04"]["thread_id"], "--now", "2026-11-03T09:00:00Z"
    )
    assert approved.code == 0, approved
    assert (
        cli(
            "approvals", "reject", waiting["c05"]["thread_id"], "--now", "2026-11-03T09:00:00Z"
        ).code
        == 0
    )

    ticked = data(cli("tick", "--now", "2026-11-06T10:00:00Z", "--json"))

    assert ticked["drafted"] == 1, ticked  # c02's second touch, four days after its first
    [second] = data(cli("approvals", "list", "--json"))
    assert (second["contact_id"], second["touch"]) == ("c02", 2)
    assert second["subject"].startswith("Re: ")
    rows = {r["contact_id"]: r for r in data(cli("status", "--json"))}
    assert (rows["c02"]["touches_sent"], rows["c04"]["touches_sent"]) == (1, 1)
    assert rows["c05"]["status"] == "active" and rows["c05"]["touches_sent"] == 0
    sent = data(cli("outbox", "--json"))
    assert sorted(r["thread_id"].rsplit(":", 1)[1] for r in sent) == ["c02", "c04"]
