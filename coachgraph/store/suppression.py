"""Opt-outs are permanent: recording them, lifting one on a person's word, and showing them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from coachgraph.store.audit import write_audit
from coachgraph.store.crm import CrmStore, contacts, suppression
from schemas.crm import OPT_OUT_FLAG
from schemas.errors import UserError
from schemas.orchestrator import CONTACT_FLAGS
from schemas.values import (
    email_sha256,
    is_valid_email,
    normalize_email,
    suppression_hashes,
    without_tag,
)

MIN_LIFT_REASON = 10
"""Characters a lift's reason needs at least: it is the record of why a block was removed."""


def lift(crm: CrmStore, email: str, reason: str, at: str) -> dict[str, Any]:
    """Lift the block on one address on a person's word, and audit it.

    Raises:
        UserError: the address is malformed, the reason too short, or nothing blocks it.
    """
    if not is_valid_email(email):
        raise UserError(f"{email!r} is not an (ASCII) email address")
    if len(reason.strip()) < MIN_LIFT_REASON:
        raise UserError(
            f"--reason must say why in at least {MIN_LIFT_REASON} characters; it is audited"
        )
    address = normalize_email(email)
    with crm.connect(write=True) as conn:
        lifted, contact_ids = _lift(conn, address)
        if lifted is None and not contact_ids:
            raise UserError(f"{address} is not suppressed and no contact has that address")
        write_audit(
            conn,
            at=at,
            type="decision",
            sender="person",
            receiver="suppression",
            content=f"suppression lifted: {reason.strip()}",
            metadata={"lifted_reason": lifted, "contacts": contact_ids},
        )
    result: dict[str, Any] = {"email": address, "lifted": lifted, "contacts_cleared": contact_ids}
    if (still := crm.suppression_reason(address)) is not None:
        result["still_blocked_by"] = f"{without_tag(address)} ({still})"
    return result


def _lift(conn: Connection, address: str) -> tuple[str | None, list[str]]:
    """Delete the address's entry and clear its contacts' flags; (old reason, contact ids)."""
    digest = email_sha256(address)
    row = conn.execute(
        select(suppression.c.reason).where(suppression.c.email_sha256 == digest)
    ).first()
    conn.execute(suppression.delete().where(suppression.c.email_sha256 == digest))
    cleared = conn.execute(
        contacts.update()
        .where(contacts.c.email == address, or_(*(contacts.c[f] for f in CONTACT_FLAGS)))
        .values(**dict.fromkeys(CONTACT_FLAGS, False))
        .returning(contacts.c.id)
    )
    return ((row.reason or "suppressed") if row else None), sorted(cleared.scalars())


def contacts_with_blocks(crm: CrmStore) -> list[dict[str, Any]]:
    """Every contact with its flags as they act: a suppression entry shows as a flag."""
    rows = crm.list_contacts()
    found = crm.suppressed_hashes(h for c in rows for h in suppression_hashes(c["email"]))
    shown = []
    for contact in rows:
        reasons = [found[h] for h in suppression_hashes(contact["email"]) if h in found]
        row: dict[str, Any] = dict(contact)
        if reasons and (flag := OPT_OUT_FLAG.get(reasons[0])):
            row[flag] = True
        row["suppressed"] = bool(reasons)
        row["suppression_reason"] = reasons[0] if reasons else None
        shown.append(row)
    return shown


def blocking_flags(row: dict[str, Any]) -> list[str]:
    """The flags that block a contact row, `suppressed` included."""
    return [f for f in (*CONTACT_FLAGS, "suppressed") if row.get(f)]
