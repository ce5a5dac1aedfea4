"""The layer contract in pyproject.toml holds, and it fails on a wrong-way import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = ("schemas", "checkpoints", "nodes", "graphs", "coachgraph", "evals")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(tree)}
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and pyproject.toml, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_shipped_packages_keep_every_contract(tree: Path) -> None:
    done = lint_imports(tree)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "wrong_way", "contract"),
    [
        ("schemas/values.py", "import coachgraph.store.crm", "Top-level packages run one way"),
        ("nodes/email/review_draft.py", "import graphs.campaign", "Top-level packages run one way"),
        ("coachgraph/store/crm.py", "import coachgraph.runner.campaigns", "subpackages run one"),
        ("nodes/email/safety_gate.py", "import sqlalchemy", "only through the door"),
        ("coachgraph/cli/app.py", "import coachgraph.cli.campaigns", "No import circle"),
    ],
)
def test_a_wrong_way_import_breaks_the_contract(
    tree: Path, module: str, wrong_way: str, contract: str
) -> None:
    path = tree / module
    path.write_text(path.read_text() + f"\n{wrong_way}  # noqa\n")

    done = lint_imports(tree)

    assert done.returncode == 1, done.stdout[-2000:]
    assert f"{contract}" in done.stdout and "BROKEN" in done.stdout
