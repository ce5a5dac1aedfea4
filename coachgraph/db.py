"""Database URLs and engines: SQLite by default, Postgres by URL, one schema for both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from coachgraph.errors import UserError


def sqlalchemy_url(db_url: str) -> str:
    """Map a `COACHGRAPH_DB` value (a path, `sqlite:///…`, `postgresql://…`) to a driver URL."""
    if db_url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db_url.split("://", 1)[1]
    if db_url.startswith(("postgresql+psycopg://", "sqlite:///", "sqlite://")):
        return db_url
    if "://" in db_url:
        raise UserError(
            f"unsupported COACHGRAPH_DB {redact_url(db_url)!r}: use a file path, "
            "sqlite:///path.db or postgresql://user@host/db (driver psycopg)"
        )
    return f"sqlite:///{db_url}"


def is_postgres(db_url: str) -> bool:
    """True when the URL points at Postgres."""
    return sqlalchemy_url(db_url).startswith("postgresql")


def sqlite_path(db_url: str) -> Path | None:
    """The file behind a SQLite URL (None for Postgres or in-memory)."""
    url = make_url(sqlalchemy_url(db_url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def redact_url(db_url: str) -> str:
    """The URL with any password masked, safe for logs and errors."""
    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:
        return db_url.split("@")[-1]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def dispose_engines() -> None:
    """Close every pooled connection, e.g. before a SQLite file is deleted and recreated."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


_engines: dict[str, Engine] = {}


def engine_for(db_url: str) -> Engine:
    """One pooled engine per URL, kept for the life of the process."""
    if db_url not in _engines:
        _engines[db_url] = _new_engine(db_url)
    return _engines[db_url]


def _new_engine(db_url: str) -> Engine:
    """A pooled engine; SQLite files get WAL and a busy timeout."""
    url = sqlalchemy_url(db_url)
    path = sqlite_path(db_url)
    if path is not None:
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)
