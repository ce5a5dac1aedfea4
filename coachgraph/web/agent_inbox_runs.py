"""Agent Inbox's answers applied to campaign threads: a resume run, or "mark as resolved".

Every answer goes through `decide`, under the same rules as `coachgraph approvals`: a
refused accept or edit changes nothing and says why. "Mark as resolved" (Agent Inbox's
`update_state(values=None, as_node="__end__")`) ends the touch as a skip, exactly like
`ignore`, and the sequence goes on: the person has dealt with this contact themselves
for now, while the campaign's later touches stay theirs to approve one by one. Ending a
contact's whole sequence is `coachgraph release`, a deliberate act no inbox click makes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, get_args

from coachgraph.runner.approvals import decide, waiting_item
from coachgraph.runner.campaigns import CampaignRuntime
from coachgraph.web.agent_inbox_threads import (
    ASSISTANT_ID,
    GRAPH_ID,
    checkpoint_json,
    enrollment_for,
    plain,
    public_id,
)
from schemas.approval import HumanResponse, ResponseType
from schemas.errors import NotFoundError, UserError
from schemas.values import iso

RESOLVED_REASON = "marked as resolved in Agent Inbox"
"""Kept with the skip, so the audit log says where it came from."""
END_NODE = "__end__"


class BadRequest(UserError):
    """A request body this API cannot act on (sent back as 422)."""


class StaleInterrupt(UserError):
    """The answer names an interrupt the thread no longer waits on (sent back as 409)."""


def check_assistant(body: dict[str, Any]) -> None:
    """The run must name the campaign graph (by graph id or assistant id)."""
    given = body.get("assistant_id")
    if given not in (GRAPH_ID, ASSISTANT_ID):
        raise NotFoundError(
            f"Invalid assistant ID {given!r}: this server runs one graph, {GRAPH_ID!r} "
            f"(assistant ID {ASSISTANT_ID})"
        )


def resume_thread(rt: CampaignRuntime, public: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a `command.resume` run at once; the Run record and the thread's values after."""
    row = enrollment_for(rt, public)
    check_assistant(body)
    answer, interrupt_id = parse_resume(body)
    started = iso(datetime.now(UTC))
    item = waiting_item(rt, row["thread_id"])
    if interrupt_id is not None and interrupt_id != item["interrupt_id"]:
        raise StaleInterrupt(
            f"interrupt {interrupt_id} on thread {public} was already answered; "
            "reload the thread and decide on the draft it shows now"
        )
    # The draft checked here is the one applied: a newer draft in between is refused.
    result = decide(
        rt, row["thread_id"], checked_answer(answer, item), expected_interrupt=item["interrupt_id"]
    )
    snapshot = rt.app.get_state(rt.config(row["thread_id"]))
    run = {
        "run_id": str(uuid.uuid4()),
        "thread_id": public,
        "assistant_id": ASSISTANT_ID,
        "created_at": started,
        "updated_at": iso(datetime.now(UTC)),
        "status": "success",
        "metadata": {"coachgraph": plain(result)},
        "multitask_strategy": "reject",
        "kwargs": {"command": plain(body.get("command"))},
    }
    return {"run": run, "values": plain(snapshot.values)}


def resolve_thread(rt: CampaignRuntime, public: str, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /threads/{id}/state` as "mark as resolved": skip this touch (see the module)."""
    if body.get("values") not in (None, {}) or body.get("as_node") != END_NODE:
        raise BadRequest(
            "coachgraph threads change only through a person's decision: the one state "
            f'update accepted is "mark as resolved" (values null, as_node "{END_NODE}")'
        )
    row = enrollment_for(rt, public)
    decide(rt, row["thread_id"], HumanResponse(type="ignore", args=RESOLVED_REASON))
    snapshot = rt.app.get_state(rt.config(row["thread_id"]))
    return {"checkpoint": checkpoint_json(public_id(row["thread_id"]), snapshot.config)}


def parse_resume(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The one HumanResponse a run resumes with, and the interrupt id it names, if any.

    Agent Inbox sends `{"resume": [response]}`; LangGraph also allows
    `{"resume": {interrupt_id: value}}`, which lets a client say which draft it answers.
    """
    command = body.get("command")
    if body.get("input") is not None or not isinstance(command, dict) or "resume" not in command:
        raise BadRequest(
            "a run on a campaign thread must be command.resume = [HumanResponse]; "
            "threads start from `coachgraph campaign enroll`, not from a run"
        )
    resume, interrupt_id = command["resume"], None
    if isinstance(resume, dict) and "type" not in resume and len(resume) == 1:
        interrupt_id, resume = next(iter(resume.items()))
    if isinstance(resume, list):
        if len(resume) != 1:
            raise BadRequest(f"resume with exactly one HumanResponse, not {len(resume)}")
        resume = resume[0]
    if not isinstance(resume, dict) or resume.get("type") not in get_args(ResponseType):
        kinds = ", ".join(get_args(ResponseType))
        raise BadRequest(f"a HumanResponse needs type {kinds} and args; got {resume!r}")
    return resume, interrupt_id


def checked_answer(answer: dict[str, Any], item: dict[str, Any]) -> HumanResponse:
    """The answer as `decide` takes it; an accept or edit may not change the recipient."""
    kind, args = answer["type"], answer.get("args")
    if kind in ("accept", "edit"):
        fields = _fields(args) if kind == "edit" else _lenient_fields(args)
        if "to" in fields and fields["to"] != item["to"]:
            raise BadRequest(
                f"the recipient cannot be changed here (the draft goes to {item['to']}); "
                "edit only the subject and body, or fix the contact's address in the CRM"
            )
    if kind == "accept":
        changed = [k for k in ("subject", "body") if k in fields and fields[k] != item[k]]
        if changed:
            raise BadRequest(
                f"accept carries a {' and '.join(changed)} that differ from the waiting draft "
                "(it changed meanwhile, or you edited it): reload the thread, or send your "
                "text as an edit; nothing was sent"
            )
        return HumanResponse(type="accept", args=None)
    if kind == "edit":
        edit = {"subject": str(fields.get("subject", "")), "body": str(fields.get("body", ""))}
        return HumanResponse(type="edit", args={"action": "send_email", "args": edit})
    if not isinstance(args, str | None):
        raise BadRequest(f"{kind} takes text args, not {type(args).__name__}")
    return HumanResponse(type=kind, args=args)


def _fields(args: Any) -> dict[str, Any]:
    """The draft fields an accept or edit carries (Agent Inbox sends the ActionRequest)."""
    inner = args.get("args") if isinstance(args, dict) else None
    if not isinstance(inner, dict):
        raise BadRequest("an edit's args must be {action, args: {subject, body}}")
    return inner


def _lenient_fields(args: Any) -> dict[str, Any]:
    """An accept's draft fields when it carries the ActionRequest; none otherwise."""
    inner = args.get("args") if isinstance(args, dict) else None
    return inner if isinstance(inner, dict) else {}
