"""With CAMPAIGN_COACH_ENABLED unset, a whole campaign equals the baseline's byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coachgraph.demo.run import load_demo_crm
from coachgraph.mail.outbox import list_outbox
from coachgraph.runner.threads import status_rows
from coachgraph.store.crm import CrmStore
from graphs.campaign import CampaignGraph, build_campaign_graph
from schemas.context import Context
from tests.integration.campaign_helpers import day, start_campaign, thread

pytestmark = pytest.mark.golden

CONTACTS = ["c01", "c02", "c03", "c09", "c14", "c21"]


def run_campaign(root: Path, graph: CampaignGraph) -> bytes:
    db = f"sqlite:///{root / 'crm.db'}"
    load_demo_crm(db)
    campaign = start_campaign(
        Context(db_url=db, outbox_dir=str(root / "outbox")), CONTACTS, graph=graph
    )
    for n in range(0, 40):
        campaign.tick(day(n))
        for item in campaign.pending(day(n)):
            campaign.decide(item["thread_id"], {"type": "accept", "args": None}, day(n))
    crm = CrmStore(db)
    states: dict[str, Any] = {c: campaign.state(thread("cmp1", c)).values for c in CONTACTS}
    outbox = [{k: v for k, v in r.items()} for r in list_outbox(crm)]
    status = [{k: v for k, v in r.items()} for r in status_rows(crm)]
    return json.dumps(
        {"states": states, "outbox": outbox, "status": status}, sort_keys=True, default=str
    ).encode()


def test_flags_off_campaign_is_byte_identical_to_the_baseline(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "base").mkdir()
    full = run_campaign(tmp_path / "full", build_campaign_graph())
    base = run_campaign(tmp_path / "base", build_campaign_graph(with_coach=False))
    assert full == base
    assert b'"status": "completed"' in full and b'"status": "held"' in full
    assert b'"stop_reason": "retention_hold: ' in full
