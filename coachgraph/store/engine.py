"""Pooled SQLAlchemy engines: SQLite by default, Postgres by URL, one schema for both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from checkpoints.database import DbTimeouts, is_postgres, pg_connect_params, sqlalchemy_url
from coachgraph.config.settings import load_settings
from schemas.context import Context


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def db_timeouts(connect_s: float | None = None, statement_s: float | None = None) -> DbTimeouts:
    """The given timeouts; any not given comes from the validated settings."""
    if connect_s is None or statement_s is None:
        settings = load_settings()
        connect_s = settings.db_connect_timeout_s if connect_s is None else connect_s
        statement_s = settings.db_statement_timeout_s if statement_s is None else statement_s
    return DbTimeouts(connect_s, statement_s)


def dispose_engines() -> None:
    """Close every pooled connection, e.g. before a SQLite file is deleted and recreated."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


_engines: dict[tuple[str, DbTimeouts | None], Engine] = {}


def engine_for(db_url: str, timeouts: DbTimeouts | None = None) -> Engine:
    """One pooled engine per URL and timeouts, kept for the life of the process.

    Args:
        db_url: A `COACHGRAPH_DB` value.
        timeouts: Postgres connect and statement timeouts; None reads the settings.
    """
    bounds = (timeouts or db_timeouts()) if is_postgres(db_url) else None
    key = (db_url, bounds)
    if key not in _engines:
        _engines[key] = _new_engine(db_url, bounds)
    return _engines[key]


def _new_engine(db_url: str, timeouts: DbTimeouts | None) -> Engine:
    """A pooled engine: SQLite with WAL and a busy timeout, Postgres with `timeouts`."""
    url = sqlalchemy_url(db_url)
    if timeouts is None:
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    given = make_url(url).query.get("options")
    params = pg_connect_params(timeouts, given if isinstance(given, str) else None)
    return create_engine(url, pool_pre_ping=True, pool_timeout=timeouts.pool_s, connect_args=params)


def context_timeouts(context: Context) -> DbTimeouts:
    """The Postgres bounds a run's context carries."""
    return DbTimeouts(context.db_connect_timeout_s, context.db_statement_timeout_s)
