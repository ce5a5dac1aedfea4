"""The campaign graph's (AA02) nodes, one file each, with the rules and prompts they use."""
