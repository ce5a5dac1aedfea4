"""Coachgraph's campaign threads in the LangGraph server's shapes, for Agent Inbox (SPEC §17).

Agent Inbox addresses threads by UUID, so each business id (`campaign:C:contact:K`) is
published as `uuid5(THREAD_NAMESPACE, business_id)`; the business id travels in the
thread's metadata. A thread's LangGraph status comes from its enrollment row (no
checkpoint is read to filter or sort); only the page a search returns reads checkpoints.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from langgraph.types import StateSnapshot

from coachgraph.runner.campaigns import CampaignRuntime
from coachgraph.store import due_index
from schemas.errors import NotFoundError, UserError
from schemas.values import iso

GRAPH_ID = "campaign"
"""The graph id Agent Inbox is configured with."""
THREAD_NAMESPACE = uuid.UUID("6f1d4c0e-8a52-5b0e-9c1b-3a7f2d9e4c61")
"""Fixed forever: changing it would change every published thread id."""
ASSISTANT_ID = str(uuid.uuid5(THREAD_NAMESPACE, f"assistant:{GRAPH_ID}"))
"""The one assistant (the campaign graph); Agent Inbox may be given this or `GRAPH_ID`."""
STATUSES = ("idle", "busy", "interrupted", "error")
SORT_FIELDS = ("thread_id", "status", "created_at", "updated_at")
MAX_LIMIT = 1000


def public_id(thread_id: str) -> str:
    """The UUID Agent Inbox sees for a coachgraph thread id."""
    return str(uuid.uuid5(THREAD_NAMESPACE, thread_id))


def enrollment_for(rt: CampaignRuntime, public: str) -> dict[str, Any]:
    """The enrollment row behind a public thread id, or NotFoundError."""
    try:
        wanted = str(uuid.UUID(public))
    except ValueError:
        raise NotFoundError(f"thread {public!r} not found: thread ids are UUIDs") from None
    for row in due_index.list_enrollments(rt.crm):
        if public_id(row["thread_id"]) == wanted:
            return row
    raise NotFoundError(f"thread {public} not found (no campaign thread has this id)")


def thread_status(row: dict[str, Any], wall: str) -> str:
    """The LangGraph status of an enrollment: interrupted, busy, error or idle.

    `busy` is an active thread a process holds the lease of (a tick or a decision runs it);
    held, stopped, completed and released threads are `idle`: nothing runs, nothing waits.
    """
    if row["status"] == "awaiting_approval":
        return "interrupted"
    if row["status"] == "failed":
        return "error"
    leased = row["lease_expires_at"] is not None and row["lease_expires_at"] > wall
    return "busy" if row["status"] == "active" and leased else "idle"


def thread_metadata(row: dict[str, Any]) -> dict[str, Any]:
    """What Agent Inbox filters on (graph_id, assistant_id) and the business identity."""
    return {
        "graph_id": GRAPH_ID,
        "assistant_id": ASSISTANT_ID,
        "coachgraph_thread_id": row["thread_id"],
        "campaign_id": row["campaign_id"],
        "contact_id": row["contact_id"],
        "coachgraph_status": row["status"],
        "stop_reason": row["stop_reason"],
    }


def search_threads(rt: CampaignRuntime, query: dict[str, Any]) -> list[dict[str, Any]]:
    """`POST /threads/search`: filter by status, metadata and ids; sort; page; then read."""
    limit, offset = _page(query)
    _check_filters(query)
    wall = iso(datetime.now(UTC))  # leases run on the real clock
    rows = [(row, thread_status(row, wall)) for row in due_index.list_enrollments(rt.crm)]
    chosen = [(row, status) for row, status in rows if _matches(row, status, query)]
    chosen.sort(key=_sort_key(query.get("sort_by") or "created_at"))
    if (query.get("sort_order") or "desc") == "desc":
        chosen.reverse()
    return [thread_json(rt, row, status) for row, status in chosen[offset : offset + limit]]


def get_thread(rt: CampaignRuntime, public: str) -> dict[str, Any]:
    """`GET /threads/{id}`."""
    row = enrollment_for(rt, public)
    return thread_json(rt, row, thread_status(row, iso(datetime.now(UTC))))


def thread_json(rt: CampaignRuntime, row: dict[str, Any], status: str) -> dict[str, Any]:
    """A LangGraph `Thread`: its values and, when waiting, its interrupts by task."""
    snapshot = rt.app.get_state(rt.config(row["thread_id"]))
    return {
        "thread_id": public_id(row["thread_id"]),
        "created_at": row["enrolled_at"],
        "updated_at": row["updated_at"] or row["enrolled_at"],
        "metadata": thread_metadata(row),
        "status": status,
        "config": {},
        "values": plain(snapshot.values),
        "interrupts": {
            task.id: [_interrupt(i) for i in task.interrupts]
            for task in snapshot.tasks
            if task.interrupts
        },
    }


def thread_state(rt: CampaignRuntime, public: str) -> dict[str, Any]:
    """`GET /threads/{id}/state`: a LangGraph `ThreadState` of the latest checkpoint."""
    row = enrollment_for(rt, public)
    snapshot = rt.app.get_state(rt.config(row["thread_id"]))
    return state_json(public_id(row["thread_id"]), snapshot)


def state_json(public: str, snapshot: StateSnapshot) -> dict[str, Any]:
    """A snapshot in the `ThreadState` shape (checkpoint ids are the checkpointer's own)."""
    return {
        "values": plain(snapshot.values),
        "next": list(snapshot.next),
        "tasks": [_task(task) for task in snapshot.tasks],
        "checkpoint": checkpoint_json(public, snapshot.config),
        "metadata": plain(snapshot.metadata or {}),
        "created_at": snapshot.created_at,
        "parent_checkpoint": checkpoint_json(public, snapshot.parent_config),
        "interrupts": [_interrupt(i) for i in snapshot.interrupts],
    }


def checkpoint_json(public: str, config: Any) -> dict[str, Any] | None:
    """A LangGraph `Checkpoint` for a snapshot's config, under the public thread id."""
    configurable = (config or {}).get("configurable") or {}
    if not configurable.get("checkpoint_id"):
        return None
    return {
        "thread_id": public,
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "checkpoint_id": configurable["checkpoint_id"],
        "checkpoint_map": None,
    }


def plain(value: Any) -> Any:
    """`value` as plain JSON data (a stray datetime or set becomes its string)."""
    return json.loads(json.dumps(value, default=str))


def _task(task: Any) -> dict[str, Any]:
    return {
        "id": task.id,
        "name": task.name,
        "error": None if task.error is None else str(task.error),
        "interrupts": [_interrupt(i) for i in task.interrupts],
        "checkpoint": None,
        "state": None,
        "result": None,
    }


def _interrupt(item: Any) -> dict[str, Any]:
    return {"value": plain(item.value), "id": item.id}


def _page(query: dict[str, Any]) -> tuple[int, int]:
    limit, offset = query.get("limit", 10), query.get("offset", 0)
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise UserError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise UserError(f"offset must be a whole number of at least 0, not {offset!r}")
    return limit, offset


def _check_filters(query: dict[str, Any]) -> None:
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise UserError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if query.get("values"):
        raise UserError("searching threads by values is not supported; filter by metadata")
    if not isinstance(query.get("metadata") or {}, dict):
        raise UserError("metadata must be an object of key: value filters")
    if not isinstance(query.get("ids") or [], list):
        raise UserError("ids must be a list of thread ids")
    if (query.get("sort_order") or "desc") not in ("asc", "desc"):
        raise UserError(f"sort_order must be asc or desc, not {query['sort_order']!r}")


def _matches(row: dict[str, Any], status: str, query: dict[str, Any]) -> bool:
    wanted = query.get("status")
    metadata = thread_metadata(row)
    filters = query.get("metadata") or {}
    ids = query.get("ids")
    return (
        (wanted is None or status == wanted)
        and all(metadata.get(k) == v for k, v in filters.items())
        and (not ids or public_id(row["thread_id"]) in ids)
    )


def _sort_key(field: str) -> Any:
    if field not in SORT_FIELDS:
        raise UserError(f"sort_by must be one of {', '.join(SORT_FIELDS)}, not {field!r}")

    def key(item: tuple[dict[str, Any], str]) -> str:
        row, status = item
        values = {
            "thread_id": public_id(row["thread_id"]),
            "status": status,
            "created_at": row["enrolled_at"],
            "updated_at": row["updated_at"] or row["enrolled_at"],
        }
        return str(values[field])

    return key
