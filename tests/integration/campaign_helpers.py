"""Drive campaigns under simulated time in tests: create, enrol, tick and decide by day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from coachgraph.runner.approvals import decide, pending_approvals
from coachgraph.runner.campaigns import campaign_runtime, create_campaign, enroll
from coachgraph.runner.tick import tick
from coachgraph.store.crm import CrmStore
from graphs.campaign import CampaignGraph
from schemas.approval import HumanResponse
from schemas.context import Context
from schemas.values import iso, parse_instant

T0 = parse_instant("2026-11-02T09:00:00Z")


def day(n: float) -> datetime:
    """T0 plus n days."""
    return T0 + timedelta(days=n)


@dataclass
class Campaign:
    """A campaign in a test database, driven day by day."""

    context: Context
    campaign_id: str
    graph: CampaignGraph | None = None
    """The graph to run (default: the full campaign graph)."""

    def at(self, when: datetime) -> Context:
        """The context with `now` moved to `when`."""
        return self.context.replace(now=iso(when))

    def tick(self, when: datetime, concurrency: int = 4) -> dict[str, Any]:
        """Run one tick at `when`."""
        return tick(self.at(when), concurrency=concurrency, graph=self.graph).as_dict()

    def pending(self, when: datetime) -> list[dict[str, Any]]:
        """Drafts waiting on a person."""
        with campaign_runtime(self.at(when), self.graph) as rt:
            return pending_approvals(rt)

    def decide(self, thread_id: str, response: HumanResponse, when: datetime) -> dict[str, Any]:
        """Give a decision at `when`."""
        with campaign_runtime(self.at(when), self.graph) as rt:
            return decide(rt, thread_id, response)

    def approve_all(self, when: datetime) -> int:
        """Accept every pending draft at `when`; returns how many."""
        items = self.pending(when)
        for item in items:
            self.decide(item["thread_id"], HumanResponse(type="accept", args=None), when)
        return len(items)

    def state(self, thread_id: str) -> Any:
        """The thread's persisted snapshot."""
        with campaign_runtime(self.context, self.graph) as rt:
            return rt.app.get_state(rt.config(thread_id))


def start_campaign(
    context: Context,
    contacts: list[str],
    campaign_id: str = "cmp1",
    graph: CampaignGraph | None = None,
    settings: dict[str, Any] | None = None,
) -> Campaign:
    """Create a campaign (with these sending `settings`) and enrol `contacts` at T0."""
    crm = CrmStore(context.db_url)
    create_campaign(
        crm,
        name="Q4 outreach",
        offer="a 20-minute walkthrough of our scheduling assistant",
        sender_name="Sam Rivera",
        sender_email="sam@seller.example",
        campaign_id=campaign_id,
        settings=settings,
    )
    enroll(crm, campaign_id, contacts, T0)
    return Campaign(context=context, campaign_id=campaign_id, graph=graph)


def thread(campaign_id: str, contact_id: str) -> str:
    """The thread id of a contact in a campaign."""
    return f"campaign:{campaign_id}:contact:{contact_id}"
