"""Golden datasets (JSONL under `datasets/`), evaluators, the runner and the release gate.

The datasets and `coachgraph eval` / `coachgraph gate` arrive with the release-gate work;
until then the golden checks live in `tests/golden/`.
"""
