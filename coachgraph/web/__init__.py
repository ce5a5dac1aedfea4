"""The HTTP surface `coachgraph serve` runs (SPEC §17): so far, the unsubscribe endpoint."""
