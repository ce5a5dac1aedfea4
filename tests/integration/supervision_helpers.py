"""Shared pieces for the supervision tests: table snapshots, enrollment reads, gated models."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import func

from coachgraph.store.crm import CrmStore, audit_log, enrollments, metadata, outbox
from tests.integration.conftest import Run
from tests.integration.fake_openai import HttpError, Reply, Step, request_kind

GATE_TIMEOUT_S = 20.0
"""Longest a gated model call waits for the test to open its gate (a failing test's bound)."""

Cli = Callable[..., Run]


def as_json(run: Run) -> Any:
    """The command's stdout as JSON, after asserting it exited 0."""
    assert run.code == 0, run
    return json.loads(run.out)


def snapshot(crm: CrmStore) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every CRM table, to show that a refused command changed nothing."""
    with crm.connect() as conn:
        return {
            name: sorted(tuple(map(str, row)) for row in conn.execute(select(table)))
            for name, table in metadata.tables.items()
        }


def enrollment(crm: CrmStore, thread_id: str) -> dict[str, Any]:
    """One enrollment row as stored."""
    with crm.connect() as conn:
        row = conn.execute(select(enrollments).where(enrollments.c.thread_id == thread_id)).one()
    return dict(row._mapping)


def outbox_rows(crm: CrmStore) -> list[dict[str, Any]]:
    """Every outbox row, whatever its status, by key."""
    with crm.connect() as conn:
        query = select(outbox).order_by(outbox.c.idempotency_key)
        return [dict(r._mapping) for r in conn.execute(query)]


def audit_count(crm: CrmStore, type_: str | None = None) -> int:
    """How many audit rows there are (of one type)."""
    query = select(func.count()).select_from(audit_log)
    if type_ is not None:
        query = query.where(audit_log.c.type == type_)
    with crm.connect() as conn:
        return int(conn.execute(query).scalar_one())


def all_audit_text(crm: CrmStore) -> str:
    """Every audit row's columns as one text, to search for what must never be there."""
    with crm.connect() as conn:
        return "\n".join(" | ".join(map(str, row)) for row in conn.execute(select(audit_log)))


def draft_reply(subject: str, first_name: str = "Daniel") -> Reply:
    """A sendable draft as the model would answer it."""
    body = (
        f"Hi {first_name},\n\nWould a 20-minute walkthrough of our scheduling assistant help "
        "your dispatch team this quarter?\n\nSam"
    )
    return Reply(json.dumps({"subject": subject, "body": body}))


class HeldDraft:
    """Answer draft requests only once the test opens the gate; refuse any other request.

    `arrived` is set when a draft request reaches the server, so the test knows the run is
    inside its model call (and holds its lease) before it acts.
    """

    def __init__(self, answer: Step) -> None:
        self.answer = answer
        self.arrived = threading.Event()
        self.gate = threading.Event()

    def __call__(self, body: dict[str, Any]) -> Step:
        if request_kind(body) != "draft":
            return HttpError(500, "fake: only draft requests are expected")
        self.arrived.set()
        self.gate.wait(GATE_TIMEOUT_S)
        return self.answer


class NumberedDrafts:
    """Answer every draft request with a new, sendable draft whose subject is numbered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.served = 0

    def __call__(self, body: dict[str, Any]) -> Step:
        if request_kind(body) != "draft":
            return HttpError(500, "fake: only draft requests are expected")
        with self._lock:
            self.served += 1
            return draft_reply(f"Dispatch idea no. {self.served} for Northwind")
