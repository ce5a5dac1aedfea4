"""Runners: compile the graphs with their persistence and run them (ticks, decisions, drafts)."""
