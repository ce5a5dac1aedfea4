"""hydrate: load the contact, their company and its most confident facts."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from schemas.context import Context, context_of
from schemas.crm import MAX_FACTS
from schemas.errors import NotFoundError
from schemas.orchestrator import OrchestratorState


def hydrate(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Load the contact, their company and its top facts by confidence."""
    door = context_of(runtime).door
    contact = door.contact(state["contact_id"])
    if contact is None:
        raise NotFoundError(f"unknown contact id {state['contact_id']!r}")
    company = door.company(contact["company_domain"])
    return {
        "contact": contact,
        "company": company,
        "facts": door.top_facts(contact["company_domain"], MAX_FACTS),
        "blocked_reason": None,
        "draft": None,
        "graph_meta": {"review_passed": None, "review_notes": [], "role_plan": []},
        "path": ["hydrate"],
    }
