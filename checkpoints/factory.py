"""Open the LangGraph checkpointer and store that sit beside the CRM database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.base import BaseStore
from langgraph.store.sqlite import SqliteStore

from coachgraph.db import is_postgres, sqlalchemy_url, sqlite_path


def _libpq_url(db_url: str) -> str:
    return sqlalchemy_url(db_url).replace("postgresql+psycopg://", "postgresql://", 1)


def _sqlite_conn(db_url: str) -> sqlite3.Connection:
    path = sqlite_path(db_url)
    target = str(path) if path else ":memory:"
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


@contextmanager
def open_store(db_url: str) -> Iterator[BaseStore]:
    """The LangGraph Store (per-contact memory) in the same database as the CRM."""
    if is_postgres(db_url):
        from langgraph.store.postgres import PostgresStore

        with PostgresStore.from_conn_string(_libpq_url(db_url)) as pg_store:
            pg_store.setup()
            yield pg_store
        return
    conn = _sqlite_conn(db_url)
    try:
        store = SqliteStore(conn)
        store.setup()
        yield store
    finally:
        conn.close()


@contextmanager
def open_checkpointer(db_url: str) -> Iterator[BaseCheckpointSaver[str]]:
    """The LangGraph checkpointer in the same database as the CRM."""
    if is_postgres(db_url):
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(_libpq_url(db_url)) as pg_saver:
            pg_saver.setup()
            yield pg_saver
        return
    conn = _sqlite_conn(db_url)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()


def setup_graph_tables(db_url: str) -> None:
    """Create the checkpointer's and store's tables once, before workers open them at once.

    Two processes running a first-time store setup together can collide on its migrations
    table; `coachgraph init` (and the demo) set the tables up first so workers never race.
    """
    with open_store(db_url), open_checkpointer(db_url):
        pass
