"""Campaigns and their runtime: create, enrol, and compile the graph beside its persistence."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from checkpoints.factory import open_checkpointer, open_store
from checkpoints.threads import campaign_thread_id
from coachgraph.mail.windows import SendWindow, check_country
from coachgraph.runner.door import ensure_door
from coachgraph.store.audit import append_events
from coachgraph.store.crm import CrmStore, campaigns, enrollments
from coachgraph.store.engine import context_timeouts
from graphs.campaign import CampaignGraph, build_campaign_graph
from nodes.delegation import delegation_event
from schemas.campaign import CampaignInput, CampaignState
from schemas.context import Context
from schemas.errors import NotFoundError, UserError
from schemas.seats import seat_chart
from schemas.supervision import ROOT_DEPTH
from schemas.values import is_valid_email, iso, normalize_email, now_from

log = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")

CompiledCampaign = CompiledStateGraph[CampaignState, Context, CampaignInput, CampaignState]


@dataclass
class CampaignRuntime:
    """A compiled campaign graph with its persistence, for one process."""

    app: CompiledCampaign
    saver: BaseCheckpointSaver[str]
    crm: CrmStore
    context: Context
    owner: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )

    @property
    def lease(self) -> timedelta:
        """How long this process holds a thread it runs."""
        return timedelta(seconds=self.context.lease_seconds)

    def config(self, thread_id: str) -> RunnableConfig:
        """The run config that selects a thread."""
        return {"configurable": {"thread_id": thread_id}}


@contextmanager
def campaign_runtime(
    context: Context, graph: CampaignGraph | None = None
) -> Iterator[CampaignRuntime]:
    """Open the checkpointer and store beside the CRM and compile the campaign graph."""
    crm = CrmStore(context.db_url)
    crm.require_initialised()
    bounds = context_timeouts(context)
    with (
        open_checkpointer(context.db_url, bounds) as saver,
        open_store(context.db_url, bounds) as store,
    ):
        app = (graph or build_campaign_graph()).compile(checkpointer=saver, store=store)
        yield CampaignRuntime(app=app, saver=saver, crm=crm, context=ensure_door(context))


def create_campaign(
    crm: CrmStore,
    *,
    name: str,
    offer: str,
    sender_name: str,
    sender_email: str,
    campaign_id: str | None = None,
    settings: dict[str, Any] | None = None,
) -> str:
    """Create a campaign and return its id (a given id must be new).

    `settings` may set its send window (`window`: days, hours, timezone, holidays),
    `daily_cap`, `min_gap_s` and `new_thread_per_touch`; each is checked here.
    """
    if not is_valid_email(sender_email):
        raise UserError(f"--sender-email {sender_email!r} is not an (ASCII) email address")
    for label, value in (("--name", name), ("--offer", offer), ("--sender-name", sender_name)):
        if not value.strip():
            raise UserError(f"{label} must not be empty")
        if _CONTROL.search(value.strip()):
            raise UserError(f"{label} {value!r} holds a line break or control character")
    cid = campaign_id or f"cmp_{uuid.uuid4().hex[:10]}"
    if not _ID.match(cid):
        raise UserError(f"campaign id {cid!r}: use 1-64 letters, digits, '_', '-' or '.'")
    if crm.get_campaign(cid):
        raise UserError(f"campaign {cid!r} already exists")
    with crm.connect(write=True) as conn:
        conn.execute(
            campaigns.insert().values(
                id=cid,
                name=name.strip(),
                offer=offer.strip(),
                sender_name=sender_name.strip(),
                sender_email=normalize_email(sender_email),
                settings=json.dumps(campaign_settings(settings or {})),
                created_at=iso(now_from(None)),
            )
        )
    return cid


def enroll(
    crm: CrmStore,
    campaign_id: str,
    contact_ids: list[str] | None,
    now: datetime,
    seats: str | None = None,
) -> tuple[int, int]:
    """One thread per contact (all contacts when None); returns (new, already enrolled).

    Enrolling is the person's hand-off to the coach: the seat chart (`seats`, a path, or
    the shipped one) must allow it, and it is audited either way.

    Raises:
        NotFoundError: no such campaign or contact (nothing is enrolled).
        UserError: the seat chart does not let a person delegate to the coach.
    """
    if crm.get_campaign(campaign_id) is None:
        raise NotFoundError(f"unknown campaign id {campaign_id!r}")
    if why := seat_chart(seats).check("person", "coach", ROOT_DEPTH):
        _audit_enrolment(crm, campaign_id, 0, now, refused=why)
        raise UserError(f"nothing enrolled: {why}")
    known = {c["id"] for c in crm.list_contacts()}
    wanted = sorted(known) if contact_ids is None else list(dict.fromkeys(contact_ids))
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise NotFoundError(f"unknown contact id {', '.join(map(repr, unknown))}; nothing enrolled")
    rows = [
        {
            "thread_id": campaign_thread_id(campaign_id, c),
            "campaign_id": campaign_id,
            "contact_id": c,
            "status": "active",
            "next_due_at": iso(now),
            "touches_sent": 0,
            "attempts": 0,
            "enrolled_at": iso(now),
            "updated_at": iso(now),
        }
        for c in wanted
    ]
    added = crm.upsert(enrollments, rows, ["thread_id"], update=False)
    if added:
        _audit_enrolment(crm, campaign_id, added, now)
    return added, len(rows) - added


def _audit_enrolment(
    crm: CrmStore, campaign_id: str, added: int, now: datetime, refused: str | None = None
) -> None:
    task = f"run {added} new thread(s) of campaign {campaign_id}"
    at = iso(now)
    event = delegation_event(
        "person",
        "coach",
        task,
        at,
        ROOT_DEPTH,
        thread_id=None,
        campaign_id=campaign_id,
        refused=refused,
    )
    append_events(crm, [event])


def campaign_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Campaign settings, checked (a bad window, cap or gap is refused in one line).

    Raises:
        UserError: a setting that cannot work.
    """
    window = dict(settings.get("window") or {})
    SendWindow.from_settings({"window": window})  # parses days, hours and timezone
    if window.get("holidays"):
        window["holidays"] = check_country(window["holidays"])
    cap, gap = settings.get("daily_cap"), settings.get("min_gap_s")
    if cap is not None and not (isinstance(cap, int) and cap >= 1):
        raise UserError(f"--daily-cap {cap!r}: a whole number of sends, at least 1")
    if gap is not None and not (isinstance(gap, int | float) and gap >= 0):
        raise UserError(f"--min-gap-s {gap!r}: seconds, at least 0")
    return {k: v for k, v in (settings | {"window": window}).items() if v not in (None, {})}
