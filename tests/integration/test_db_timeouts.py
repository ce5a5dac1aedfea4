"""A database that never answers, is full, or runs too long: one line and exit 1, never a hang."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, suppress
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from checkpoints.database import DbTimeouts
from checkpoints.factory import open_checkpointer, open_store
from coachgraph.store.crm import CrmStore
from coachgraph.store.engine import dispose_engines, engine_for
from schemas.errors import UserError
from tests.conftest import PG_ADMIN_URL
from tests.integration.conftest import Run, one_line_error

pytestmark = pytest.mark.integration

TIMEOUT_ENV = ("COACHGRAPH_DB_CONNECT_TIMEOUT_S", "COACHGRAPH_DB_STATEMENT_TIMEOUT_S")
OPENERS: list[Callable[[str], AbstractContextManager[Any]]] = [open_checkpointer, open_store]


@pytest.fixture(autouse=True)
def no_timeouts_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in TIMEOUT_ENV:
        monkeypatch.delenv(key, raising=False)
    yield
    dispose_engines()  # no pooled engine outlives the server it points at


@pytest.fixture
def silent_db() -> Iterator[str]:
    """A COACHGRAPH_DB on loopback whose server accepts TCP connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            with suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"postgresql://u@127.0.0.1:{listener.getsockname()[1]}/db"
    finally:
        stop.set()
        thread.join()
        for conn in [*accepted, listener]:
            conn.close()


@pytest.mark.parametrize("command", [["status"], ["tick"], ["init"]])
def test_a_silent_database_is_one_line_naming_the_timeout(
    cli: Callable[..., Run], silent_db: str, command: list[str]
) -> None:
    run = cli(*command, COACHGRAPH_DB=silent_db, COACHGRAPH_DB_CONNECT_TIMEOUT_S="1")
    line = one_line_error(run)
    assert f"database {silent_db} did not answer within 2 s" in line
    assert "COACHGRAPH_DB_CONNECT_TIMEOUT_S" in line


@pytest.mark.parametrize("opener", OPENERS)
def test_the_checkpointer_and_store_give_up_on_a_silent_database(
    silent_db: str, opener: Callable[..., AbstractContextManager[Any]]
) -> None:
    with (
        pytest.raises(UserError, match="did not answer within 2 s") as info,
        opener(silent_db, DbTimeouts(connect_s=1)),
    ):
        pass
    assert "\n" not in str(info.value)


def test_a_bad_timeout_setting_is_one_line(cli: Callable[..., Run]) -> None:
    line = one_line_error(cli("status", COACHGRAPH_DB_CONNECT_TIMEOUT_S="abc"))
    assert "invalid setting COACHGRAPH_DB_CONNECT_TIMEOUT_S='abc'" in line


def test_engines_are_cached_per_url_and_timeouts() -> None:
    url = "postgresql://u@127.0.0.1:1/db"
    one = engine_for(url, DbTimeouts(3, 1))
    assert engine_for(url, DbTimeouts(3, 1)) is one
    assert engine_for(url, DbTimeouts(3, 2)) is not one


@pytest.fixture
def limited_role(pg_url: str) -> Iterator[str]:
    """A role that may hold one connection, holding it; yields its COACHGRAPH_DB."""
    import psycopg

    role = f"cg_limited_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1')
    role_url = make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    try:
        with psycopg.connect(role_url):
            yield role_url
    finally:
        dispose_engines()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.postgres
def test_too_many_connections_is_one_line(cli: Callable[..., Run], limited_role: str) -> None:
    line = one_line_error(cli("status", COACHGRAPH_DB=limited_role))
    assert "refused the connection: too many connections for role" in line
    assert "lower tick --concurrency or raise the role's CONNECTION LIMIT" in line


@pytest.mark.postgres
@pytest.mark.parametrize("opener", OPENERS)
def test_the_checkpointer_and_store_name_too_many_connections(
    limited_role: str, opener: Callable[..., AbstractContextManager[Any]]
) -> None:
    with pytest.raises(UserError, match="too many connections for role"), opener(limited_role):
        pass


@pytest.mark.postgres
def test_the_engine_sets_the_statement_timeout(pg_url: str) -> None:
    with engine_for(pg_url, DbTimeouts(statement_s=1)).connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "1s"


@pytest.mark.postgres
@pytest.mark.parametrize("opener", OPENERS)
def test_the_checkpointer_and_store_set_the_statement_timeout(
    pg_url: str, opener: Callable[..., AbstractContextManager[Any]]
) -> None:
    with opener(pg_url, DbTimeouts(statement_s=1.5)) as saver_or_store:
        row = saver_or_store.conn.execute("SHOW statement_timeout").fetchone()
    assert row == {"statement_timeout": "1500ms"}


@pytest.mark.postgres
def test_options_in_the_url_are_kept(pg_url: str) -> None:
    url = f"{pg_url}?options=-c%20application_name%3Dcg_probe"
    with engine_for(url, DbTimeouts(statement_s=1)).connect() as conn:
        names = conn.execute(text("SHOW application_name")).scalar()
        timeout = conn.execute(text("SHOW statement_timeout")).scalar()
    assert (names, timeout) == ("cg_probe", "1s")


@pytest.mark.postgres
def test_a_cancelled_statement_is_one_line_naming_the_setting(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COACHGRAPH_DB_STATEMENT_TIMEOUT_S", "0.2")
    with pytest.raises(UserError) as info, CrmStore(pg_url).connect() as conn:
        conn.execute(text("SELECT pg_sleep(5)"))
    message = str(info.value)
    assert "cancelled a statement after 0.2 s (COACHGRAPH_DB_STATEMENT_TIMEOUT_S)" in message
    assert "\n" not in message


@pytest.mark.postgres
def test_a_cancelled_checkpointer_statement_is_one_line(pg_url: str) -> None:
    with (
        pytest.raises(UserError, match=r"cancelled a statement after 0\.2 s"),
        open_checkpointer(pg_url, DbTimeouts(statement_s=0.2)) as saver,
    ):
        saver.conn.execute("SELECT pg_sleep(5)")  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_an_exhausted_pool_is_one_line(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACHGRAPH_DB_CONNECT_TIMEOUT_S", "1")
    monkeypatch.setenv("COACHGRAPH_DB_STATEMENT_TIMEOUT_S", "0.1")
    crm = CrmStore(pg_url)
    with ExitStack() as held, pytest.raises(UserError) as info:
        for _ in range(64):  # far more than the pool lends out
            held.enter_context(crm.connect())
    message = str(info.value)
    assert "no pooled connection came free within 2.1 s; lower tick --concurrency" in message
    assert "\n" not in message
