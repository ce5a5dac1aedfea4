"""A scripted model for the fake OpenAI server: it writes what the draft prompts ask for.

Each draft prompt carries its data as JSON (SPEC §6): the touch's `purpose`, the unused
`facts`, the plan's angle, the offer, and for a reply the inbound message. The script
writes a grounded email that does the touch's job, or, for a reply, the answer a capable
model gives (the offline composer's). A `leaky` model, or a system prompt carrying `leak`,
gets an unfilled template marker in every draft.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from nodes.email.offline_composer import ComposeRequest
from nodes.email.reply_composer import compose_reply
from tests.integration.fake_openai import Reply, Step, request_kind

PURPOSE_LINES = {
    "introduction": "I'm reaching out because growing teams lose hours to manual follow-up.",
    "value": "It helps your team cut that manual work, so your reps spend their time selling.",
    "proof": "Teams we work with have cut the time their reps spend on follow-up.",
    "question": "How does your team handle follow-up today?",
    "resource": "I can send you a short checklist on this, if it helps.",
    "closing": "This is my last note on this, so I'll keep it short.",
}
"""What a model following the prompt writes for each touch's `purpose` (SPEC §6)."""


def scripted_model(leak: str | None = None) -> Any:
    """A responder: role plans, a judge that says yes, and drafts written from the data."""

    def respond(body: dict[str, Any]) -> Step:
        kind = request_kind(body)
        if kind == "role_plan":
            return Reply(json.dumps({"roles": ["researcher", "composer"]}))
        if kind == "other":
            return Reply(json.dumps({"reasoning": "grounded and polite", "score": True}))
        system = next(m["content"] for m in body["messages"] if m["role"] == "system")
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        data = json.loads(user.split("\n", 1)[1])
        leaky = body["model"] == "leaky-model" or (leak is not None and leak in system)
        return Reply(json.dumps(_reply(data) if data.get("inbound_body") else _touch(data, leaky)))

    return respond


def _touch(data: dict[str, Any], leaky: bool) -> dict[str, str]:
    first = data.get("first_name") or "there"
    lines = ["Hi {{first_name}}," if leaky else f"Hello {first},"]
    purpose = data.get("purpose") or "introduction"
    lines.append(PURPOSE_LINES[purpose])
    if data["facts"]:
        lines.append(f"I noticed that {data['facts'][0].rstrip('.')}.")
    if data.get("angle"):
        lines.append(f"I am writing about {data['angle'].rstrip('.').lower()}.")
    lines.append(f"We offer {data['offer'].rstrip('.')}. Would a short call next week be useful?")
    team = data.get("company") or "your team"
    return {"subject": f"{purpose.capitalize()} for {team}", "body": "\n\n".join(lines)}


def _reply(data: dict[str, Any]) -> dict[str, str]:
    known = {f.name for f in fields(ComposeRequest)}
    answer = compose_reply(ComposeRequest(**{k: v for k, v in data.items() if k in known}))
    if answer is None:  # the graph never asks: an opt-out gets no reply at all
        return {"subject": "", "body": ""}
    return {"subject": answer.subject, "body": answer.body}
