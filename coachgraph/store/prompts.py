"""Governed prompt updates (SPEC §14): a seat's instruction versions and which one is current.

A version's `status` is one of:

- `current`: the gate promoted it and it is in use (at most one per seat);
- `superseded`: it was current until a later proposal was promoted;
- `refused`: the gate said HOLD or ROLLBACK; it was never used;
- `rolled_back`: it was current until a person rolled the seat back to an earlier version.

With no current version a seat uses the instructions shipped in the code. The last
`KEEP_VERSIONS` versions of each seat are kept (never the current one deleted).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import Connection, func, select

from coachgraph.store.audit import write_events
from coachgraph.store.crm import CrmStore, prompt_versions
from coachgraph.store.prompt_events import decision_events, rollback_event
from schemas.errors import NotFoundError, UserError

Status = Literal["current", "superseded", "refused", "rolled_back"]
PROMOTED: tuple[Status, ...] = ("current", "superseded", "rolled_back")
"""Statuses of versions the gate accepted."""
KEEP_VERSIONS = 20
DAILY_ACCEPTED = 5
"""Accepted proposals a seat may take per UTC day."""
CACHE_SECONDS = 30.0
"""How long a process trusts the current instructions it read (a write here forgets them)."""

_cache: dict[tuple[str, str], tuple[float, str | None]] = {}


@dataclass(frozen=True)
class Proposal:
    """New instructions for a seat, with who proposed them, why and when."""

    seat: str
    text: str
    author: str
    reason: str
    at: str


@dataclass(frozen=True)
class PromptVersion:
    """One stored version of a seat's instructions."""

    id: int
    seat: str
    text: str
    status: Status
    author: str
    reason: str
    created_at: str
    decided_at: str | None
    gate_report: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `prompts show --json`."""
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """The JSON shape of `prompts list --json`: everything but the text and the report."""
        decision = (self.gate_report or {}).get("decision")
        keep = ("id", "seat", "status", "author", "reason", "created_at", "decided_at")
        return {k: getattr(self, k) for k in keep} | {"decision": decision}


def versions(crm: CrmStore, seat: str | None = None) -> list[PromptVersion]:
    """Every stored version (of one seat when given), newest first."""
    query = select(prompt_versions).order_by(prompt_versions.c.id.desc())
    if seat is not None:
        query = query.where(prompt_versions.c.seat == seat)
    with crm.connect() as conn:
        return [_version(row._mapping) for row in conn.execute(query)]


def version(crm: CrmStore, version_id: int) -> PromptVersion:
    """One version by id.

    Raises:
        NotFoundError: no version has this id (it never existed or was pruned).
    """
    with crm.connect() as conn:
        found = _by_id(conn, version_id)
    if found is None:
        raise NotFoundError(f"unknown prompt version {version_id} (see `coachgraph prompts list`)")
    return found


def current(crm: CrmStore, seat: str) -> PromptVersion | None:
    """The seat's current version, or None when it uses the shipped instructions."""
    with crm.connect() as conn:
        return _current(conn, seat)


def current_instructions(crm: CrmStore, seat: str) -> str | None:
    """The current version's text, read at most every `CACHE_SECONDS` per process."""
    key = (crm.db_url, seat)
    cached = _cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    found = current(crm, seat)
    text = found.text if found else None
    _cache[key] = (time.monotonic() + CACHE_SECONDS, text)
    return text


def accepted_on(crm: CrmStore, seat: str, day: str) -> int:
    """How many proposals for `seat` the gate accepted on a UTC day (`YYYY-MM-DD`)."""
    query = select(func.count()).where(
        prompt_versions.c.seat == seat,
        prompt_versions.c.status.in_(PROMOTED),
        prompt_versions.c.decided_at.like(f"{day}%"),
    )
    with crm.connect() as conn:
        return int(conn.execute(query).scalar_one())


def check_daily_limit(crm: CrmStore, seat: str, at: str) -> None:
    """Refuse a proposal when the seat already took its accepted proposals for the day.

    Raises:
        UserError: `DAILY_ACCEPTED` proposals were already accepted on `at`'s UTC day.
    """
    day = at[:10]
    if accepted_on(crm, seat, day) >= DAILY_ACCEPTED:
        raise UserError(
            f"seat {seat} already accepted {DAILY_ACCEPTED} prompt proposals on {day} (UTC), "
            f"the limit is {DAILY_ACCEPTED} a day: propose again tomorrow"
        )


def record_decision(
    crm: CrmStore, proposal: Proposal, report: dict[str, Any], at: str
) -> PromptVersion:
    """Store a proposal with the gate's report, make it current on PROMOTE, audit, prune."""
    promoted = report["decision"] == "PROMOTE"
    with crm.connect(write=True) as conn:
        previous = _current(conn, proposal.seat)
        if promoted and previous is not None:
            _set_status(conn, previous.id, "superseded")
        row = {
            "seat": proposal.seat,
            "text": proposal.text,
            "status": "current" if promoted else "refused",
            "author": proposal.author,
            "reason": proposal.reason,
            "created_at": proposal.at,
            "decided_at": at,
            "gate_report": json.dumps(report, ensure_ascii=False, default=str),
        }
        key = conn.execute(prompt_versions.insert().values(**row)).inserted_primary_key
        stored = _by_id(conn, int(key[0])) if key else None
        assert stored is not None  # just inserted, in this transaction
        write_events(conn, decision_events(stored, previous, report))
        _prune(conn, proposal.seat)
    _cache.clear()
    return stored


def roll_back(
    crm: CrmStore, seat: str, to: int | None, author: str, reason: str, at: str
) -> tuple[PromptVersion, PromptVersion]:
    """Make an earlier promoted version current again; return (was current, now current).

    Raises:
        UserError: nothing is current, nothing earlier was promoted, or `to` is unknown,
            another seat's, already current or was refused.
    """
    with crm.connect(write=True) as conn:
        was = _current(conn, seat)
        if was is None:
            raise UserError(f"nothing to roll back: seat {seat} uses its shipped instructions")
        target = _rollback_target(conn, seat, was, to)
        _set_status(conn, was.id, "rolled_back")
        _set_status(conn, target.id, "current")
        now_current = _by_id(conn, target.id)
        assert now_current is not None  # read back inside the same transaction
        write_events(conn, [rollback_event(was, now_current, author, reason, at)])
    _cache.clear()
    return was, now_current


def install_current(crm: CrmStore, seat: str, text: str, at: str) -> None:
    """Make `text` the seat's current version without a gate (for the gate's own scratch CRM)."""
    with crm.connect(write=True) as conn:
        conn.execute(prompt_versions.delete().where(prompt_versions.c.seat == seat))
        conn.execute(
            prompt_versions.insert().values(
                seat=seat,
                text=text,
                status="current",
                author="release-gate",
                reason="instructions under evaluation",
                created_at=at,
                decided_at=at,
            )
        )
    _cache.clear()


def _rollback_target(
    conn: Connection, seat: str, was: PromptVersion, to: int | None
) -> PromptVersion:
    if to is None:
        query = (
            select(prompt_versions)
            .where(
                prompt_versions.c.seat == seat,
                prompt_versions.c.status.in_(("superseded", "rolled_back")),
                prompt_versions.c.id < was.id,
            )
            .order_by(prompt_versions.c.id.desc())
            .limit(1)
        )
        row = conn.execute(query).first()
        if row is None:
            raise UserError(
                f"nothing to roll back to: version {was.id} is seat {seat}'s only promoted "
                "version still kept"
            )
        return _version(row._mapping)
    target = _by_id(conn, to)
    if target is None or target.seat != seat:
        raise NotFoundError(
            f"unknown prompt version {to} for seat {seat} (see `coachgraph prompts list`)"
        )
    if target.status == "current":
        raise UserError(f"version {to} is already seat {seat}'s current version")
    if target.status == "refused":
        raise UserError(f"version {to} was refused by the gate: only promoted versions come back")
    return target


def _prune(conn: Connection, seat: str) -> None:
    """Delete all but the newest `KEEP_VERSIONS` versions of a seat, never the current one."""
    ids = conn.execute(
        select(prompt_versions.c.id, prompt_versions.c.status)
        .where(prompt_versions.c.seat == seat)
        .order_by(prompt_versions.c.id.desc())
    ).all()
    old = [vid for vid, status in ids[KEEP_VERSIONS:] if status != "current"]
    if old:
        conn.execute(prompt_versions.delete().where(prompt_versions.c.id.in_(old)))


def _current(conn: Connection, seat: str) -> PromptVersion | None:
    query = select(prompt_versions).where(
        prompt_versions.c.seat == seat, prompt_versions.c.status == "current"
    )
    row = conn.execute(query.order_by(prompt_versions.c.id.desc()).limit(1)).first()
    return _version(row._mapping) if row is not None else None


def _by_id(conn: Connection, version_id: int) -> PromptVersion | None:
    row = conn.execute(select(prompt_versions).where(prompt_versions.c.id == version_id)).first()
    return _version(row._mapping) if row is not None else None


def _set_status(conn: Connection, version_id: int, status: Status) -> None:
    conn.execute(
        prompt_versions.update().where(prompt_versions.c.id == version_id).values(status=status)
    )


def _version(row: Any) -> PromptVersion:
    report = row["gate_report"]
    return PromptVersion(
        id=int(row["id"]),
        seat=row["seat"],
        text=row["text"],
        status=row["status"],
        author=row["author"],
        reason=row["reason"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        gate_report=json.loads(report) if report else None,
    )
