"""Thread ids: the durable identity is the business identity (campaign × contact)."""

from __future__ import annotations

import re

from schemas.errors import UserError

_THREAD = re.compile(r"^campaign:(?P<campaign>[^:]+):contact:(?P<contact>[^:]+)$")


def campaign_thread_id(campaign_id: str, contact_id: str) -> str:
    """`campaign:{campaign_id}:contact:{contact_id}`."""
    for name, value in (("campaign id", campaign_id), ("contact id", contact_id)):
        if not value or ":" in value:
            raise UserError(f"{name} {value!r} must be non-empty and contain no ':'")
    return f"campaign:{campaign_id}:contact:{contact_id}"


def parse_thread_id(thread_id: str) -> tuple[str, str]:
    """(campaign_id, contact_id) from a thread id, or a UserError naming the bad id."""
    match = _THREAD.match(thread_id)
    if not match:
        raise UserError(
            f"not a campaign thread id: {thread_id!r} (expected campaign:ID:contact:ID)"
        )
    return match["campaign"], match["contact"]
