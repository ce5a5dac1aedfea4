"""`coachgraph seats check|show` as a user runs them: output, JSON, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Run, one_line_error

pytestmark = pytest.mark.integration

GOOD = """
[seat.lead]
owner = "ana"
job = "hands out the work"
delegates_to = ["writer"]

[seat.writer]
owner = "ben"
job = "writes it"
delegates_to = []
"""

BAD = {
    "unknown.toml": ('[seat.lead]\nowner = "ana"\ndelegates_to = ["ghost"]\n', "unknown seat"),
    "owners.toml": ('[seat.lead]\nowner = ["ana", "ben"]\n', "2 owners"),
    "cycle.toml": (
        '[seat.a]\nowner = "x"\ndelegates_to = ["b"]\n'
        '[seat.b]\nowner = "y"\ndelegates_to = ["a"]\n',
        "delegation cycle a → b → a",
    ),
    "self.toml": ('[seat.a]\nowner = "x"\ndelegates_to = ["a"]\n', "cycle a → a"),
    "deep.toml": (
        "".join(f'[seat.s{i}]\nowner = "o"\ndelegates_to = ["s{i + 1}"]\n' for i in range(4))
        + '[seat.s4]\nowner = "o"\n',
        "s0 → s1 → s2 → s3 → s4 has 4 hand-offs",
    ),
    "syntax.toml": ('[seat.a]\nowner = "x\n', "not valid TOML"),
    "key.toml": ('[seat.a]\nowner = "x"\nbudget = 2\n', "unknown keys ['budget']"),
    "noowner.toml": ('[seat.a]\njob = "x"\n', "seat a has no owner"),
}


def test_check_passes_the_shipped_chart(cli: Callable[..., Run]) -> None:
    run = cli("seats", "check")

    assert run.code == 0, run
    assert run.out.startswith("seat chart OK: 7 seats, 1 root(s) (person), deepest chain 3 ")
    assert "(person → coach → orchestrator → composer)" in run.out
    assert len(run.out.splitlines()) == 1


def test_check_json_reports_seats_and_depth(cli: Callable[..., Run]) -> None:
    data = json.loads(cli("seats", "check", "--json").out)

    assert data["ok"] is True and data["seats"] == 7 and data["max_depth"] == 3
    assert data["source"].endswith("seats.toml")


def test_check_passes_a_good_file(cli: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(GOOD)

    data = json.loads(cli("seats", "check", str(path), "--json").out)

    assert data == {
        "source": str(path),
        "ok": True,
        "seats": 2,
        "max_depth": 1,
        "roots": ["lead"],
        "deepest_chain": ["lead", "writer"],
    }


@pytest.mark.parametrize("name", sorted(BAD))
def test_check_refuses_each_bad_chart_in_one_line(
    cli: Callable[..., Run], tmp_path: Path, name: str
) -> None:
    body, problem = BAD[name]
    (tmp_path / name).write_text(body)

    run = cli("seats", "check", str(tmp_path / name))

    line = one_line_error(run)
    assert run.err.strip() == line
    assert line.startswith(f"error: seat chart {tmp_path / name}: ")
    assert problem in line
    assert run.out == ""


def test_check_names_a_missing_file(cli: Callable[..., Run]) -> None:
    line = one_line_error(cli("seats", "check", "missing.toml"))
    assert line == "error: seat chart missing.toml: no such file"


def test_show_json_is_the_chart_roots_first(cli: Callable[..., Run]) -> None:
    data = json.loads(cli("seats", "show", "--json").out)

    assert data["source"].endswith("seats.toml")
    assert [s["name"] for s in data["seats"]][:2] == ["person", "coach"]
    orchestrator = next(s for s in data["seats"] if s["name"] == "orchestrator")
    assert orchestrator == {
        "name": "orchestrator",
        "owner": "sales-ops",
        "job": "drafts one email",
        "delegates_to": ["researcher", "composer", "reviewer"],
        "depth": 2,
    }


def test_show_prints_a_table(cli: Callable[..., Run]) -> None:
    run = cli("seats", "show")

    assert run.code == 0, run
    for word in ("seat", "owner", "delegates to", "deliverability", "compliance"):
        assert word in run.out


def test_coachgraph_seats_picks_the_chart(cli: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(GOOD)

    shown = json.loads(cli("seats", "show", "--json", COACHGRAPH_SEATS=str(path)).out)
    checked = cli("seats", "check")

    assert [s["name"] for s in shown["seats"]] == ["lead", "writer"]
    assert shown["source"] == str(path)
    assert checked.out.startswith("seat chart OK: 2 seats")


def test_a_bad_coachgraph_seats_fails_show_in_one_line(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    (tmp_path / "cycle.toml").write_text(BAD["cycle.toml"][0])

    run = cli("seats", "show", COACHGRAPH_SEATS=str(tmp_path / "cycle.toml"))

    assert "delegation cycle a → b → a" in one_line_error(run)


def test_the_console_script_refuses_a_bad_chart_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "owners.toml").write_text(BAD["owners.toml"][0])
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHGRAPH")}

    done = subprocess.run(
        [sys.executable, "-m", "coachgraph", "seats", "check", str(tmp_path / "owners.toml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "seat lead has 2 owners ['ana', 'ben']; one seat, one owner" in done.stderr
