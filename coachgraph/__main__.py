"""`python -m coachgraph` runs the CLI."""

from coachgraph.cli import main

main()
