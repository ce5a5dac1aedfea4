"""What each dataset runs: the real graphs and functions, with the run's flags in the context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evals.datasets import Kind
from nodes.campaign.coach_plan import coach_brief as brief_for_coach
from nodes.campaign.coach_plan import plan_sequence
from nodes.campaign.coach_rules import coerce_coach_plan
from nodes.campaign.compose_touch import CompiledOrchestrator
from nodes.campaign.send_touch import record_touch
from nodes.email.plan_roles import repair_role_plan
from nodes.email.review_draft import review_email
from schemas.context import Context
from schemas.door import Delivery, Send
from schemas.orchestrator import OrchestratorInput
from schemas.values import normalize_email

Target = Callable[[dict[str, Any]], dict[str, Any]]
EVAL_CAMPAIGN = "eval"
"""Campaign id given to campaign touches in evals (memory is per contact, not per campaign)."""
SEQUENCE_TOUCHES = 6
"""Touches a sequence record runs when it names no other count (SPEC §6: six purposes)."""
TOUCH_FIELDS = ("action", "subject", "body", "facts_used", "composer", "review_passed")
"""What a sequence's output keeps of each touch's run."""


@dataclass(frozen=True)
class Runner:
    """The compiled orchestrator and the scenario CRM the graph targets run against."""

    app: CompiledOrchestrator
    context: Context
    contacts: dict[str, str]
    """Normalised contact email → the scenario's contact id."""

    def contact_id(self, inputs: dict[str, Any]) -> str:
        """The scenario contact these inputs describe."""
        return self.contacts[normalize_email(inputs["contact"]["email"])]

    def invoke(self, inputs: dict[str, Any], plan: dict[str, Any] | None = None) -> dict[str, Any]:
        """One orchestrator run for the record's contact, as a campaign touch when it has one.

        With a `plan`, the run drafts as a campaign would: that angle and tone, the record's
        offer and this run's sender.
        """
        request = OrchestratorInput(contact_id=self.contact_id(inputs))
        if plan is not None:
            request["angle"], request["tone"] = plan["angle"], plan["tone"]
            request["offer"] = inputs.get("offer")
            request["sender_name"] = self.context.sender_name
            request["sender_company"] = self.context.sender_company
        if inputs.get("touch"):
            request["touch"] = inputs["touch"]
            request["campaign_id"] = EVAL_CAMPAIGN
        out = dict(self.app.invoke(request, context=self.context))
        self.context.door.audit(out.get("audit", []))
        return out

    def final_response(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """A campaign touch: the plan in force (the coach's, with its flag), then the draft."""
        plan = self.plan_for(inputs)
        return self.shaped(self.invoke(inputs, plan), plan)

    def reply(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """An answer to the record's inbound, and whether the run handed it to a person."""
        return self.final_response(inputs)

    def sequence(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Touches 1 to `inputs.touches` (default 6) for one contact, as a campaign sends them.

        Each drafted touch is recorded as sent before the next is drafted, so every touch
        sees its predecessors in the history and in the contact's memory (facts used).
        """
        plan = self.plan_for(inputs)
        touches = []
        for number in range(1, int(inputs.get("touches") or SEQUENCE_TOUCHES) + 1):
            shaped = self.shaped(self.invoke(inputs | {"touch": number}, plan), plan)
            touches.append({"touch": number} | {k: shaped[k] for k in TOUCH_FIELDS})
            if shaped["subject"] and shaped["body"]:
                self.record_sent(inputs, number, shaped)
        return {
            "action": "sequence",
            "touches": touches,
            "plan": plan,
            "composer": touches[0]["composer"] if touches else None,
            "sender_name": self.context.sender_name,
            "sender_company": self.context.sender_company,
        }

    def record_sent(self, inputs: dict[str, Any], touch: int, shaped: dict[str, Any]) -> None:
        """Record a drafted touch as sent, as the campaign's sender would: history and memory."""
        contact_id = self.contact_id(inputs)
        send = Send(
            thread_id=f"{EVAL_CAMPAIGN}:{contact_id}",
            touch=touch,
            campaign_id=EVAL_CAMPAIGN,
            to=normalize_email(inputs["contact"]["email"]),
            subject=shaped["subject"],
            body=shaped["body"],
            contact_id=contact_id,
        )
        message_id = f"<{EVAL_CAMPAIGN}-{contact_id}-touch{touch}@coachgraph.invalid>"
        delivery = Delivery(outcome="sent", at=self.context.door.now(), message_id=message_id)
        record_touch(
            self.context.door, self.app.store, send, delivery, contact_id, shaped["facts_used"]
        )

    def shaped(self, out: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
        """One orchestrator run as the evaluators read it."""
        draft = out.get("draft") or {}
        meta = out.get("graph_meta", {})
        status = (out.get("report") or {}).get("status")
        return {
            "action": out["action"],
            "blocked_reason": out.get("blocked_reason"),
            "skip_reason": out.get("skip_reason"),
            "subject": draft.get("subject"),
            "body": draft.get("body"),
            "plan": plan,
            "composer": meta.get("composer"),
            "facts_used": meta.get("facts_used", []),
            "review_passed": meta.get("review_passed"),
            "needs_attention": status == "needs_attention" or bool(meta.get("needs_attention")),
            "path": out.get("path", []),
            "sender_name": self.context.sender_name,
            "sender_company": self.context.sender_company,
        }

    def plan_for(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The record's plan, or with the coach on, the plan one coach call makes for it."""
        given = inputs.get("plan") or {}
        if not self.context.campaign_coach_enabled:
            return {"angle": given.get("angle"), "tone": given.get("tone"), "source": "given"}
        record = plan_sequence(coach_brief(inputs), self.context).record
        return {"angle": record["angle"], "tone": record["tone"], "source": record["source"]}

    def paths(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """One orchestrator run for a scenario: its action, block reason and node path."""
        out = self.invoke(inputs)
        return {
            "action": out["action"],
            "blocked_reason": out.get("blocked_reason"),
            "path": out.get("path", []),
            "role_plan": out.get("graph_meta", {}).get("role_plan", []),
            "leader": self.context.orchestrator_role_plan,
        }


def coach_brief(inputs: dict[str, Any]) -> dict[str, Any]:
    """What the coach node sends the model, built from a record instead of the CRM."""
    return brief_for_coach(
        inputs.get("offer"),
        inputs.get("contact") or {},
        inputs.get("company") or {},
        list(inputs.get("facts", [])),
    )


def plan_coercion(inputs: dict[str, Any]) -> dict[str, Any]:
    """The plan `coerce_coach_plan` makes of a raw coach answer (None when it rejects it)."""
    return {"plan": coerce_coach_plan(inputs["raw"])}


def role_plan_repair(inputs: dict[str, Any]) -> dict[str, Any]:
    """The roles `repair_role_plan` keeps, and whether they are the model's, repaired or default."""
    repaired = repair_role_plan(inputs["raw"])
    return {"roles": repaired.roles, "source": repaired.source}


def review_verdicts(inputs: dict[str, Any]) -> dict[str, Any]:
    """The reviewer's verdict on a draft."""
    verdict = review_email(inputs.get("subject"), inputs.get("body"))
    return {"passed": verdict.passed, "notes": verdict.notes}


def target_for(kind: Kind, runner: Runner | None) -> Target:
    """The function a dataset of `kind` runs; graph kinds need a `Runner`."""
    pure: dict[str, Target] = {
        "plan_coercion": plan_coercion,
        "role_plan_repair": role_plan_repair,
        "review_verdicts": review_verdicts,
    }
    if kind in pure:
        return pure[kind]
    if runner is None:
        raise ValueError(f"{kind} examples run the orchestrator and need a Runner")
    graph: dict[str, Target] = {
        "final_response": runner.final_response,
        "sequence": runner.sequence,
        "reply": runner.reply,
    }
    return graph.get(kind, runner.paths)
