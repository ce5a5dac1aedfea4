"""Reviewer feedback and edits on a campaign's drafts, and a prompt proposal made from them.

A person's `approvals respond` (feedback) and `approvals edit` (a changed subject or body)
are decisions in the audit log; an edit recorded before its texts were audited takes its
"after" from the outbox. The proposal is built without a model, so it is the same every
time for the same decisions.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from sqlalchemy import select

from coachgraph.store.audit import audit_rows
from coachgraph.store.crm import CrmStore, outbox
from schemas.errors import NotFoundError, UserError

QUOTE_CHARS = 200
"""Longest quote of a person's words or an edited sentence in a proposal."""
MAX_ITEMS = 12
"""The most recent feedback items a proposal summarises."""
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def collect_feedback(crm: CrmStore, campaign_id: str) -> list[dict[str, Any]]:
    """The campaign's feedback and edits, oldest first.

    Raises:
        NotFoundError: no campaign has this id.
    """
    if crm.get_campaign(campaign_id) is None:
        raise NotFoundError(f"unknown campaign id {campaign_id!r}")
    items = []
    for row in audit_rows(crm, "decision", campaign_id=campaign_id):
        meta = row["metadata"]
        base = {"thread_id": row["thread_id"], "touch": meta.get("touch"), "at": row["at"]}
        if meta.get("decision") == "response" and meta.get("feedback"):
            items.append(base | {"kind": "feedback", "feedback": meta["feedback"]})
        elif meta.get("decision") == "edit" and not meta.get("refused"):
            after = meta.get("after") or _sent(crm, row["thread_id"], meta.get("touch"))
            items.append(base | {"kind": "edit", "before": meta.get("before"), "after": after})
    return items


def feedback_section(campaign_id: str, items: list[dict[str, Any]]) -> str:
    """The section a proposal adds to the current instructions: what reviewers asked for.

    Raises:
        UserError: the campaign has no feedback or edits to learn from.
    """
    if not items:
        raise UserError(
            f"campaign {campaign_id} has no reviewer feedback or edits yet "
            "(`coachgraph approvals respond` / `approvals edit`): nothing to propose"
        )
    recent = items[-MAX_ITEMS:]
    notes = sum(1 for i in recent if i["kind"] == "feedback")
    head = (
        f"Reviewer feedback from campaign {campaign_id} ({notes} note(s), "
        f"{len(recent) - notes} edit(s)); write every draft so that a reviewer would not "
        "have to ask for this again:"
    )
    return "\n".join([head, *(f"- {_line(item)}" for item in recent)])


def _line(item: dict[str, Any]) -> str:
    touch = f"touch {item['touch']}" if item.get("touch") else "a draft"
    if item["kind"] == "feedback":
        return f"On {touch} a reviewer asked: {_quote(item['feedback'])}."
    return f"On {touch} a reviewer edited the draft: {_edit_summary(item)}."


def _edit_summary(item: dict[str, Any]) -> str:
    before, after = item.get("before"), item.get("after")
    if not after:
        return "the edited text is no longer on record"
    if not before:
        return f"it was sent as subject {_quote(after['subject'])}"
    parts = []
    if before["subject"] != after["subject"]:
        parts.append(f"subject {_quote(before['subject'])} became {_quote(after['subject'])}")
    removed, added = _sentence_changes(before["body"], after["body"])
    words = (len(before["body"].split()), len(after["body"].split()))
    if words[0] != words[1]:
        parts.append(f"body {words[0]} → {words[1]} words")
    parts += [f"removed {_quote(s)}" for s in removed[:2]]
    parts += [f"added {_quote(s)}" for s in added[:2]]
    return "; ".join(parts) or "no visible change"


def _sentence_changes(before: str, after: str) -> tuple[list[str], list[str]]:
    old = [s.strip() for s in _SENTENCE.split(before) if s.strip()]
    new = [s.strip() for s in _SENTENCE.split(after) if s.strip()]
    removed: list[str] = []
    added: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        if op in ("delete", "replace"):
            removed += old[i1:i2]
        if op in ("insert", "replace"):
            added += new[j1:j2]
    return removed, added


def _quote(text: str) -> str:
    flat = " ".join(str(text).split())
    if len(flat) > QUOTE_CHARS:
        flat = flat[: QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return '"' + flat.replace('"', "'") + '"'


def _sent(crm: CrmStore, thread_id: str | None, touch: Any) -> dict[str, str] | None:
    if thread_id is None or touch is None:
        return None
    query = select(outbox.c.subject, outbox.c.body).where(
        outbox.c.thread_id == thread_id, outbox.c.touch == int(touch)
    )
    with crm.connect() as conn:
        row = conn.execute(query).first()
    return {"subject": row.subject, "body": row.body} if row is not None else None
