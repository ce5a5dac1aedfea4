"""recall_memory: per-contact memory in the LangGraph Store, so follow-ups say new things."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from schemas.context import Context
from schemas.orchestrator import OrchestratorState

EMPTY_MEMORY: dict[str, Any] = {"facts_used": [], "subjects": [], "touches": 0}


def memory_namespace(contact_id: str) -> tuple[str, ...]:
    """Where a contact's memory lives in the store."""
    return ("coachgraph", "contacts", contact_id)


def recall_memory(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Read the facts and subjects earlier sent touches used, so follow-ups say new things."""
    memory = dict(EMPTY_MEMORY)
    if runtime.store is not None:
        item = runtime.store.get(memory_namespace(state["contact_id"]), "touches")
        if item is not None:
            memory |= item.value
    return {"memory": memory, "path": ["recall_memory"]}


def memory_value(facts_used: list[str], subjects: list[str]) -> dict[str, Any]:
    """A contact's memory as stored: facts and subjects of sent touches, and their count."""
    return {"facts_used": facts_used, "subjects": subjects, "touches": len(subjects)}


def remember_touch(
    store: BaseStore, contact_id: str, *, key: str, subject: str, facts_used: list[str]
) -> dict[str, Any]:
    """Record a sent touch's subject and facts in the contact's memory, once per `key`."""
    namespace = memory_namespace(contact_id)
    item = store.get(namespace, "touches")
    if store.get(namespace, f"sent:{key}") is not None:  # a re-run send: already remembered
        return dict(EMPTY_MEMORY) | (item.value if item else {})
    memory = dict(EMPTY_MEMORY) | (item.value if item else {})
    known = memory["facts_used"]
    memory = memory_value(
        [*known, *[f for f in facts_used if f not in known]], [*memory["subjects"], subject]
    )
    store.put(namespace, "touches", memory)
    store.put(namespace, f"sent:{key}", {"subject": subject})
    return memory
