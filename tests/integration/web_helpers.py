"""A campaign waiting for approvals, the web app over it, and a signed-in session."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import update

from coachgraph.demo.run import load_demo_crm
from coachgraph.store.crm import CrmStore, contacts
from coachgraph.store.users import add_user
from schemas.context import Context
from schemas.values import iso
from tests.integration.campaign_helpers import T0, Campaign, day, start_campaign, thread
from tests.integration.proc_helpers import ScriptedSmtpServer

SECRET = SecretStr("web-test-secret-" + "k" * 32)
REVIEWER, PASSWORD = "reviewer", "correct horse battery"
SCRIPT_NAME = "<script>alert(1)</script>"
CONTACTS = ("c01", "c02", "c04")
"""Demo contacts who each get a first-touch draft; c04's first name is the script above."""
CAMPAIGN = "q4web"
THREADS = tuple(thread(CAMPAIGN, c) for c in CONTACTS)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
INTERRUPT = re.compile(r'name="interrupt_id" value="([^"]+)"')


@dataclass
class InboxWorld:
    """The demo CRM with drafts waiting, sending through a loopback SMTP server."""

    context: Context
    crm: CrmStore
    campaign: Campaign


def inbox_world(tmp_path: Path, smtp: ScriptedSmtpServer, public_url: str) -> InboxWorld:
    """Demo CRM on a SQLite file, campaign `q4web` ticked at T0, one reviewer."""
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    load_demo_crm(url)
    crm = CrmStore(url)
    with crm.connect(write=True) as conn:
        conn.execute(update(contacts).where(contacts.c.id == "c04").values(first_name=SCRIPT_NAME))
    context = Context(
        db_url=url,
        llm_api_key=None,
        transport="smtp",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=False,
        secret_key=SECRET,
        public_url=public_url,
        now=iso(T0),
    )
    campaign = start_campaign(context, list(CONTACTS), CAMPAIGN)
    campaign.tick(day(0))
    add_user(crm, REVIEWER, PASSWORD)
    return InboxWorld(context, crm, campaign)


def csrf_of(page: str) -> str:
    """The CSRF token a page's forms carry."""
    match = CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def interrupt_of(page: str) -> str:
    """The interrupt id a draft page's forms carry."""
    match = INTERRUPT.search(page)
    assert match, "no interrupt id on the page"
    return match.group(1)
