"""The `coachgraph` command line (SPEC §16): the app, and the command groups on it."""

from coachgraph.cli import campaigns, evals  # register their commands on `app`
from coachgraph.cli.app import app, main

__all__ = ["app", "campaigns", "evals", "main"]
