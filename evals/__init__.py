"""Golden datasets (JSONL under `datasets/`), evaluators, the runner and the release gate.

`coachgraph eval` runs every dataset through LangSmith's `evaluate` (offline unless
LANGSMITH_API_KEY is set); `coachgraph gate --flag NAME` compares a flag off and on and
decides PROMOTE, HOLD or ROLLBACK (SPEC §14).
"""
