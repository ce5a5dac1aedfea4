# Everything runs inside ./.venv, created and filled from pyproject.toml on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-unit lint typecheck diagrams bench eval clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed  ## the main job, offline, in a fresh local database
	$(BIN)/coachgraph demo

test: $(BIN)/.installed  ## unit, integration (real SQLite/Postgres/HTTP peers on loopback) and golden tests
	$(BIN)/pytest

test-unit: $(BIN)/.installed
	$(BIN)/pytest tests/unit

lint: $(BIN)/.installed  ## ruff, format, mypy --strict, and the layer contract (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

diagrams: $(BIN)/.installed  ## regenerate the mermaid snapshots and the README's diagrams from code
	$(BIN)/pytest -q tests/golden --update-snapshots
	$(BIN)/python -m coachgraph.cli.diagrams README.md

bench: $(BIN)/.installed  ## tick throughput, model-bound efficiency, checkpoint bytes, due index
	$(BIN)/python -m bench.tick_bench

eval: $(BIN)/.installed  ## golden-dataset evals on every prompt path (offline without keys)
	$(BIN)/coachgraph eval

clean:
	rm -rf $(VENV) .coachgraph .pytest_cache .mypy_cache .ruff_cache
