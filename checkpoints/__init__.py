"""Checkpointer and store factories (SQLite by default, Postgres by URL) and thread ids."""
