"""Writing one draft for the composer workers: with the model, or offline when it cannot."""

from __future__ import annotations

import json
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from nodes.email.instructions import SEAT, composer_system
from nodes.email.offline_composer import (
    ComposeRequest,
    compose_email,
    compose_reply,
)
from nodes.email.prompts import DRAFT_SYSTEM, DRAFT_USER, REPLY_SYSTEM, REPLY_USER
from nodes.email.research_facts import select_facts
from schemas.context import Context, context_of
from schemas.llm import DraftOutput, LLMResult
from schemas.orchestrator import OrchestratorState
from schemas.provenance import Provenance, provenance
from schemas.worker import WorkerInput, WorkerKind, WorkerOutput, WorkerState

PROMPTS = {"compose": (DRAFT_SYSTEM, DRAFT_USER), "reply": (REPLY_SYSTEM, REPLY_USER)}
OFFLINE = {"compose": compose_email, "reply": compose_reply}


def write_draft(state: WorkerState, runtime: Runtime[Context], kind: WorkerKind) -> dict[str, Any]:
    """Write one draft of `kind` with the model, or offline when the model cannot answer."""
    request = ComposeRequest(**state["request"])
    _, user = PROMPTS[kind]
    system = composer_system(kind, context_of(runtime).door.instructions(SEAT))
    result = (
        context_of(runtime)
        .door.model("standard")
        .complete(
            system=system,
            user=user.format(data=json.dumps(state["request"], ensure_ascii=False, indent=1)),
            schema=DraftOutput,
            purpose=f"draft:{kind}",
        )
    )
    calls = [result.call.as_dict()] if result.call else []
    if result.value and result.value.subject.strip() and result.value.body.strip():
        draft = {"subject": result.value.subject.strip(), "body": result.value.body.strip()}
        prov = provenance(
            "llm",
            f"drafted by {result.call.model if result.call else 'model'}",
            confidence=0.7,
            evidence=request.facts,
        )
    else:
        subject, body = OFFLINE[kind](request)
        draft = {"subject": subject, "body": body}
        prov = _offline_provenance(result, request)
    return {"draft": draft, "draft_provenance": prov, "llm_calls": calls}


def _offline_provenance(result: LLMResult[DraftOutput], request: ComposeRequest) -> Provenance:
    if result.unavailable and "KILL_SWITCH" not in (result.error or ""):
        reason = "offline composer: no model is configured"
    else:
        reason = f"fail-open to the offline composer: {result.error or 'empty draft'}"
    return provenance("offline_composer", reason, confidence=0.9, evidence=request.facts)


def build_request(state: OrchestratorState, runtime: Runtime[Context]) -> ComposeRequest:
    """What the composer may use: the brief's facts (or a safe pick), plan, offer, history."""
    contact = state["contact"]
    company: dict[str, Any] = dict(state.get("company") or {})
    brief = state.get("brief") or select_facts(state.get("facts", []), used=[])
    memory = state.get("memory", {})
    history = state.get("history", [])
    inbound = next((m for m in reversed(history) if m["direction"] == "in"), None)
    first_out = next((m["subject"] for m in history if m["direction"] == "out"), None)
    meta = state.get("graph_meta", {})
    return ComposeRequest(
        first_name=contact["first_name"],
        last_name=contact["last_name"],
        title=contact["title"],
        company=company.get("name"),
        industry=company.get("industry"),
        facts=brief["facts"],
        offer=state.get("offer") or context_of(runtime).offer,
        touch=state.get("touch", 1),
        angle=state.get("angle"),
        tone=state.get("tone"),
        feedback=state.get("feedback"),
        previous_subject=(memory.get("subjects") or [first_out])[0],
        inbound_subject=inbound["subject"] if inbound and state["action"] == "reply" else None,
        inbound_body=inbound["body"] if inbound and state["action"] == "reply" else None,
        notes=list(meta.get("review_notes", [])) if state.get("draft") else [],
    )


Worker = CompiledStateGraph[WorkerState, Context, WorkerInput, WorkerOutput]
