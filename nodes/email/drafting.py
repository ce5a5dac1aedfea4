"""Writing one draft for the composer workers: with the model, or offline when it cannot."""

from __future__ import annotations

import json
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from nodes.delegation import HandoffRefused
from nodes.email.instructions import SEAT, composer_system
from nodes.email.intents import inbound_text, intent_of_text
from nodes.email.language import detect_language
from nodes.email.offline_composer import ComposeRequest, compose_email
from nodes.email.prompts import DRAFT_SYSTEM, DRAFT_USER, REPLY_SYSTEM, REPLY_USER
from nodes.email.reply_composer import ATTENTION, compose_reply
from nodes.email.research_facts import select_facts
from nodes.email.touch_copy import purpose_of
from schemas.context import Context, context_of
from schemas.llm import DraftOutput, LLMResult
from schemas.orchestrator import OrchestratorState
from schemas.provenance import Provenance, provenance
from schemas.worker import WorkerInput, WorkerKind, WorkerOutput, WorkerState

PROMPTS = {"compose": (DRAFT_SYSTEM, DRAFT_USER), "reply": (REPLY_SYSTEM, REPLY_USER)}


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
        prov = provenance(
            "llm",
            f"drafted by {result.call.model if result.call else 'model'}",
            confidence=0.7,
            evidence=request.facts,
        )
        written = {
            "draft": {"subject": result.value.subject.strip(), "body": result.value.body.strip()},
            "facts_used": list(request.facts),  # all it was given: none is offered again
            "attention": _model_reply_attention(request) if kind == "reply" else None,
            "language": _language_of(request) if kind == "reply" else "en",
        }
    else:
        written = _offline(kind, request)
        prov = _offline_provenance(result, request)
    return written | {"draft_provenance": prov, "llm_calls": calls}


def _offline(kind: WorkerKind, request: ComposeRequest) -> dict[str, Any]:
    """The offline composer's draft, the facts it quoted, and what a person must look at."""
    if kind == "compose":
        email = compose_email(request)
        draft = {"subject": email.subject, "body": email.body}
        return {"draft": draft, "facts_used": email.facts_used, "attention": None, "language": "en"}
    reply = compose_reply(request)
    if reply is None:  # decide_action skips these first; a reply here would be a bug
        raise HandoffRefused("an opt-out or out-of-office message gets no reply")
    return {
        "draft": {"subject": reply.subject, "body": reply.body},
        "facts_used": list(reply.facts_used),
        "attention": reply.needs_attention,
        "language": reply.language,
    }


def _model_reply_attention(request: ComposeRequest) -> str | None:
    """Why a person checks a model's reply first: a price or a product question.

    The data holds no figures and no product facts, whoever drafts the answer.
    """
    intent = intent_of_text(inbound_text(request.inbound_subject, request.inbound_body))
    return ATTENTION.get(intent) if intent in ("pricing", "question") else None


def _language_of(request: ComposeRequest) -> str:
    """The inbound's language, so the footer a model's reply gets matches it; else English."""
    return detect_language(request.inbound_body or "", min_hits=3) or "en"


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
    memory = state.get("memory", {})
    used = list(memory.get("facts_used", []))
    brief = state.get("brief") or select_facts(state.get("facts", []), used=used)
    history = state.get("history", [])
    inbound = next((m for m in reversed(history) if m["direction"] == "in"), None)
    first_out = next((m["subject"] for m in history if m["direction"] == "out"), None)
    meta = state.get("graph_meta", {})
    touch = state.get("touch", 1)
    replying = inbound is not None and state["action"] == "reply"
    return ComposeRequest(
        first_name=contact["first_name"],
        last_name=contact["last_name"],
        title=contact["title"],
        company=company.get("name"),
        industry=company.get("industry"),
        facts=brief["facts"],
        offer=state.get("offer") or context_of(runtime).offer,
        touch=touch,
        angle=state.get("angle"),
        tone=state.get("tone"),
        feedback=state.get("feedback"),
        previous_subject=(memory.get("subjects") or [first_out])[0],
        purpose=None if replying else purpose_of(touch),
        used_facts=used,
        inbound_subject=inbound["subject"] if inbound and replying else None,
        inbound_body=inbound["body"] if inbound and replying else None,
        notes=list(meta.get("review_notes", [])) if state.get("draft") else [],
    )


Worker = CompiledStateGraph[WorkerState, Context, WorkerInput, WorkerOutput]
