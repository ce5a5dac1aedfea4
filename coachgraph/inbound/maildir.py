"""A local Maildir as the inbound mailbox: the same classify, match and apply as IMAP.

Each file in `new/` is one message; once applied (in the transaction that records it)
it moves to `cur/`, as a mail reader would, so a second read finds nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from coachgraph.inbound.apply import Outcome, Where, apply_message
from coachgraph.inbound.state import advance, position
from coachgraph.store.crm import CrmStore
from schemas.values import iso

UID_VALIDITY = "maildir"


def read_maildir(crm: CrmStore, folder: Path, now: datetime) -> list[Outcome]:
    """Apply every new message in `folder` (a Maildir), oldest file name first."""
    key = f"maildir:{folder.resolve()}"
    start = position(crm, key, UID_VALIDITY, iso(now))
    outcomes = []
    for uid, path in enumerate(_new(folder), start=start.last_uid + 1):
        with crm.connect(write=True) as conn:
            outcomes.append(
                apply_message(conn, Where(key, UID_VALIDITY, uid), path.read_bytes(), now)
            )
            advance(conn, key, UID_VALIDITY, uid, iso(now))
        path.rename(folder / "cur" / f"{path.name}:2,S")
    return outcomes


def _new(folder: Path) -> Iterator[Path]:
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    yield from sorted(p for p in (folder / "new").iterdir() if p.is_file())
