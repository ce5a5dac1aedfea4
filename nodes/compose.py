"""The composer role: worker nodes that write and sign a draft, and the delegation to them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from nodes.offline_composer import (
    ComposeRequest,
    compose_email,
    compose_reply,
    finish_body,
    tone_for,
)
from nodes.prompts import DRAFT_SYSTEM, DRAFT_USER, REPLY_SYSTEM, REPLY_USER
from nodes.research import select_facts
from schemas.context import Context, context_of
from schemas.llm import DraftOutput, LLMResult
from schemas.orchestrator import OrchestratorState
from schemas.provenance import Provenance, provenance
from schemas.worker import WorkerInput, WorkerKind, WorkerOutput, WorkerState

PROMPTS = {"compose": (DRAFT_SYSTEM, DRAFT_USER), "reply": (REPLY_SYSTEM, REPLY_USER)}
OFFLINE = {"compose": compose_email, "reply": compose_reply}


def write_first_touch(state: WorkerState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draft a first touch or follow-up: the model when it answers well, else offline."""
    return _write(state, runtime, "compose")


def write_reply(state: WorkerState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draft a reply to an inbound message: the model when it answers well, else offline."""
    return _write(state, runtime, "reply")


def _write(state: WorkerState, runtime: Runtime[Context], kind: WorkerKind) -> dict[str, Any]:
    request = ComposeRequest(**state["request"])
    system, user = PROMPTS[kind]
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


def sign_draft(state: WorkerState) -> dict[str, Any]:
    """Add the sign-off, signature and unsubscribe line every draft carries."""
    request = ComposeRequest(**state["request"])
    body = finish_body(
        state["draft"]["body"],
        tone=tone_for(request),
        sender_name=state["sender_name"],
        sender_company=state["sender_company"],
    )
    return {"draft": {"subject": state["draft"]["subject"], "body": body}}


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


def delegate_to(kind: WorkerKind, worker: Worker) -> Callable[..., dict[str, Any]]:
    """A parent node that hands one drafting job to a compiled worker subgraph."""

    def delegate(state: OrchestratorState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_of(runtime)
        request = build_request(state, runtime)
        result = worker.invoke(
            WorkerInput(
                request=asdict(request),
                sender_name=state.get("sender_name") or context.sender_name,
                sender_company=state.get("sender_company") or context.sender_company,
            )
        )
        revising = state.get("draft") is not None
        return {
            "draft": result["draft"],
            "revisions": state.get("revisions", 0) + int(revising),
            "graph_meta": {
                "facts_used": request.facts,
                "composer": result["draft_provenance"]["source"],
            },
            "provenance": {"draft": result["draft_provenance"]},
            "llm_calls": result.get("llm_calls", []),
            "path": [f"email_{kind}"],
        }

    delegate.__name__ = f"email_{kind}"
    delegate.__doc__ = f"Delegate the draft to the email_{kind} worker subgraph."
    return delegate
