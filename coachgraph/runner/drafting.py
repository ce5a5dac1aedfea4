"""Run the email orchestrator for contacts and shape its output as the CLI contract."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from checkpoints.factory import open_store
from coachgraph.runner.door import ensure_door
from coachgraph.store.engine import context_timeouts
from graphs.email_orchestrator import OrchestratorGraph, build_email_orchestrator
from nodes.campaign.compose_touch import CompiledOrchestrator
from schemas.context import Context

CONTRACT_KEYS = (
    "contact_id",
    "action",
    "blocked_reason",
    "draft",
    "graph_meta",
    "provenance",
    "path",
)


def draft_json(output: dict[str, Any]) -> dict[str, Any]:
    """The `draft --json` shape: contract fields first, extras after, nothing missing."""
    meta = {"review_passed": None, "review_notes": [], "role_plan": []} | output.get(
        "graph_meta", {}
    )
    shaped = {
        "contact_id": output["contact_id"],
        "action": output["action"],
        "blocked_reason": output.get("blocked_reason"),
        "draft": output.get("draft"),
        "graph_meta": meta,
        "provenance": output.get("provenance", {}),
        "path": output.get("path", []),
    }
    extras = {k: output.get(k) for k in ("block_detail", "skip_reason", "report")}
    return shaped | extras | {"llm_calls": output.get("llm_calls", [])}


@contextmanager
def orchestrator(
    context: Context, graph: OrchestratorGraph | None = None
) -> Iterator[CompiledOrchestrator]:
    """The compiled orchestrator with the store beside the CRM database."""
    with open_store(context.db_url, context_timeouts(context)) as store:
        yield (graph or build_email_orchestrator()).compile(store=store)


def draft_for(
    contact_id: str, context: Context, graph: OrchestratorGraph | None = None
) -> dict[str, Any]:
    """Draft one email for a contact (or say why not)."""
    return next(iter(draft_many([contact_id], context, graph)))


def draft_many(
    contact_ids: Iterable[str], context: Context, graph: OrchestratorGraph | None = None
) -> Iterator[dict[str, Any]]:
    """Draft for each contact in turn, reusing one compiled graph and store."""
    context = ensure_door(context)
    with orchestrator(context, graph) as app:
        for contact_id in contact_ids:
            output = app.invoke({"contact_id": contact_id}, context=context)
            context.door.audit(output.get("audit", []))
            yield draft_json(dict(output))
