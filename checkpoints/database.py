"""Database URLs and connection bounds, shared by the CRM engine and the graph persistence."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from schemas.errors import UserError


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


@dataclass(frozen=True)
class DbTimeouts:
    """How long Postgres may take to accept a connection and to run one statement."""

    connect_s: float = 10.0
    """Seconds to wait for a connection (`COACHGRAPH_DB_CONNECT_TIMEOUT_S`)."""
    statement_s: float = 60.0
    """Seconds a statement may run before the server cancels it."""

    @property
    def connect_whole_s(self) -> int:
        """The connect timeout psycopg really applies."""
        # psycopg, like libpq, reads whole seconds and raises anything under 2 to 2.
        return max(2, math.ceil(self.connect_s))

    @property
    def pool_s(self) -> float:
        """Seconds to wait for a pooled connection to come free."""
        # A holder frees its connection once its statement ends or is cancelled; a new
        # overflow connection takes at most the connect timeout.
        return self.connect_whole_s + self.statement_s


def pg_connect_params(timeouts: DbTimeouts, options: str | None = None) -> dict[str, Any]:
    """Connection parameters bounding the connect and every statement, keeping given `options`."""
    bound = f"-c statement_timeout={max(1, round(timeouts.statement_s * 1000))}"
    # Options written into the URL are the more specific choice, so they come last and win.
    return {
        "connect_timeout": timeouts.connect_whole_s,
        "options": f"{bound} {options or ''}".strip(),
    }


def describe_unavailable(db_url: str, exc: BaseException, timeouts: DbTimeouts) -> str | None:
    """One line for a Postgres that did not answer, refused, or cancelled a statement.

    Args:
        db_url: The database the error came from; named with its password masked.
        exc: A SQLAlchemy error (its driver error is looked at) or a psycopg error.
        timeouts: The timeouts in force.

    Returns:
        The message, or None when the error is none of these.
    """
    if not is_postgres(db_url):
        return None
    where = redact_url(db_url)
    t = timeouts
    if isinstance(exc, PoolTimeoutError):
        return (
            f"database {where}: no pooled connection came free within {t.pool_s:g} s; "
            "lower tick --concurrency"
        )
    return _describe_pg(where, getattr(exc, "orig", None) or exc, t)


def _describe_pg(where: str, exc: BaseException, t: DbTimeouts) -> str | None:
    """The message for a psycopg error that needs one beyond its own text, or None."""
    from psycopg.errors import ConnectionTimeout, QueryCanceled  # loaded once Postgres is used

    reason = db_error_text(exc).rsplit("FATAL:", 1)[-1].strip()
    if isinstance(exc, ConnectionTimeout):
        return (
            f"database {where} did not answer within {t.connect_whole_s} s "
            "(COACHGRAPH_DB_CONNECT_TIMEOUT_S); is it up?"
        )
    if any(s in reason for s in ("too many clients", "too many connections", "slots are reserved")):
        limit = "the role's CONNECTION LIMIT" if "for role" in reason else "max_connections"
        return (
            f"database {where} refused the connection: {reason}; "
            f"lower tick --concurrency or raise {limit}"
        )
    if isinstance(exc, QueryCanceled) and "statement timeout" in reason:
        return (
            f"database {where} cancelled a statement after {t.statement_s:g} s "
            "(COACHGRAPH_DB_STATEMENT_TIMEOUT_S); raise it or look for a long-held lock"
        )
    return None


def db_error_text(exc: BaseException) -> str:
    """The first line of a database error, from the driver when SQLAlchemy wraps one."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
