"""The `coachgraph` command line (SPEC §16): the app, its command groups, and plug-ins.

Packages above this one (the evals: `coachgraph eval`, `coachgraph gate`) add commands
through the `coachgraph.commands` entry point, so the CLI never imports them by name and
dependencies keep running one way.
"""

from importlib.metadata import entry_points

# Imported to register their commands on `app`.
from coachgraph.cli import campaigns, inbox, reports, seats, serve, supervision, users, worker
from coachgraph.cli.app import app, main

for _plugin in entry_points(group="coachgraph.commands"):
    app.add_command(_plugin.load(), _plugin.name)

__all__ = [
    "app",
    "campaigns",
    "inbox",
    "main",
    "reports",
    "seats",
    "serve",
    "supervision",
    "users",
    "worker",
]
