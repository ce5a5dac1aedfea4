"""The email orchestrator's (AA06) and its workers' nodes, one file each, with their rules."""
