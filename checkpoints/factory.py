"""Open the LangGraph checkpointer and store that sit beside the CRM database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.base import BaseStore
from langgraph.store.sqlite import SqliteStore

from checkpoints.database import (
    DbTimeouts,
    db_error_text,
    describe_unavailable,
    is_postgres,
    pg_connect_params,
    redact_url,
    sqlalchemy_url,
    sqlite_path,
)
from schemas.errors import UserError


def _libpq_conninfo(db_url: str, timeouts: DbTimeouts) -> str:
    """The libpq connection string for a Postgres URL, bounded by `timeouts`."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    url = sqlalchemy_url(db_url).replace("postgresql+psycopg://", "postgresql://", 1)
    given = conninfo_to_dict(url).get("options")
    return make_conninfo(url, **pg_connect_params(timeouts, str(given) if given else None))


@contextmanager
def _pg_errors_as_user_errors(db_url: str, timeouts: DbTimeouts) -> Iterator[None]:
    """Turn psycopg's operational errors, opening or inside the block, into one line."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as exc:
        message = describe_unavailable(db_url, exc, timeouts)
        raise UserError(
            message or f"cannot use database {redact_url(db_url)}: {db_error_text(exc)}"
        ) from None


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
def open_store(db_url: str, timeouts: DbTimeouts | None = None) -> Iterator[BaseStore]:
    """The LangGraph Store (per-contact memory) in the same database as the CRM.

    Args:
        db_url: A `COACHGRAPH_DB` value.
        timeouts: Postgres connect and statement timeouts (default: 10 s and 60 s).
    """
    if is_postgres(db_url):
        from langgraph.store.postgres import PostgresStore

        timeouts = timeouts or DbTimeouts()
        with (
            _pg_errors_as_user_errors(db_url, timeouts),
            PostgresStore.from_conn_string(_libpq_conninfo(db_url, timeouts)) as pg_store,
        ):
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
def open_checkpointer(
    db_url: str, timeouts: DbTimeouts | None = None
) -> Iterator[BaseCheckpointSaver[str]]:
    """The LangGraph checkpointer in the same database as the CRM.

    Args:
        db_url: A `COACHGRAPH_DB` value.
        timeouts: Postgres connect and statement timeouts (default: 10 s and 60 s).
    """
    if is_postgres(db_url):
        from langgraph.checkpoint.postgres import PostgresSaver

        timeouts = timeouts or DbTimeouts()
        with (
            _pg_errors_as_user_errors(db_url, timeouts),
            PostgresSaver.from_conn_string(_libpq_conninfo(db_url, timeouts)) as pg_saver,
        ):
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


def setup_graph_tables(db_url: str, timeouts: DbTimeouts | None = None) -> None:
    """Create the checkpointer's and store's tables once, before workers open them at once.

    Two processes running a first-time store setup together can collide on its migrations
    table; `coachgraph init` (and the demo) set the tables up first so workers never race.
    """
    with open_store(db_url, timeouts), open_checkpointer(db_url, timeouts):
        pass
