"""RFC 8058 one-click unsubscribe end to end, and DKIM signing (SPEC §11, §15, §17).

The real app runs under uvicorn on loopback; the test POSTs exactly what a mailbox
provider sends to the URL in a message the real transport wrote, then asserts what was
persisted, over a SQLite file and a throwaway Postgres database.
"""

from __future__ import annotations

import base64
import email
import email.policy
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dkim  # type: ignore[import-untyped]
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from coachgraph.demo.run import load_demo_crm
from coachgraph.mail.message import OutgoingEmail, build_message
from coachgraph.mail.outbox import idempotency_key
from coachgraph.mail.transport import make_transport
from coachgraph.mail.unsubscribe import token_for
from coachgraph.runner.campaigns import create_campaign, enroll
from coachgraph.runner.tick import check_config
from coachgraph.store.audit import audit_rows
from coachgraph.store.crm import CrmStore, campaigns, contacts, suppression
from coachgraph.web.app import SECURITY_HEADERS, create_app
from schemas.approval import HumanResponse
from schemas.context import Context
from schemas.errors import ConfigError, UserError
from schemas.values import email_sha256, iso
from tests.integration.campaign_helpers import T0, Campaign, day, start_campaign, thread
from tests.integration.conftest import Run, one_line_error
from tests.integration.live_server import LiveServer
from tests.integration.smtp_server import SmtpServer
from tests.integration.supervision_helpers import enrollment, outbox_rows, snapshot

pytestmark = pytest.mark.integration

SECRET = SecretStr("test-secret-key-" + "x" * 24)
DANIEL, TOM = "c02", "c04"
DANIEL_EMAIL = "daniel@northwind-logistics.example"
A, B, C = (thread(c, DANIEL) for c in ("cmpA", "cmpB", "cmpC"))
TOM_A = thread("cmpA", TOM)
ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


@dataclass
class World:
    """Daniel in two campaigns of one sender and one of another, with the app serving."""

    context: Context
    crm: CrmStore
    campaign: Campaign
    server: LiveServer
    http: httpx.Client
    outbox_dir: Path

    def message(self, campaign_id: str = "cmpA", contact_id: str = DANIEL) -> EmailMessage:
        """The message the real file transport writes for the thread's pending draft."""
        thread_id = thread(campaign_id, contact_id)
        [item] = [i for i in self.campaign.pending(day(0)) if i["thread_id"] == thread_id]
        key = idempotency_key(thread_id, item["touch"])
        row = self.crm.get_campaign(campaign_id)
        assert row is not None
        email_ = OutgoingEmail.from_campaign(row, key, item, T0, self.context)
        make_transport(self.context).send(build_message(email_))
        [path] = [p for p in (self.outbox_dir / "new").iterdir()]
        raw = path.read_bytes()
        path.unlink()
        return parse(raw)

    def link(self) -> str:
        """The one-click URL in Daniel's message."""
        return one_click_url_of(self.message())


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def one_click_url_of(message: EmailMessage) -> str:
    links = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    assert len(links) == 2 and links[1].startswith("mailto:"), links
    return str(links[0])


@pytest.fixture
def world(any_db: str, tmp_path: Path) -> Iterator[World]:
    load_demo_crm(any_db)
    server = LiveServer()
    outbox_dir = tmp_path / "outbox"
    context = Context(
        db_url=any_db,
        outbox_dir=str(outbox_dir),
        llm_api_key=None,
        public_url=server.url,
        secret_key=SECRET,
        now=iso(T0),
    )
    crm = CrmStore(any_db)
    campaign = start_campaign(context, [DANIEL, TOM], "cmpA")
    start_campaign(context, [DANIEL], "cmpB")
    create_campaign(
        crm,
        name="Other team",
        offer="an audit",
        sender_name="Lee",
        sender_email="lee@other.example",
        campaign_id="cmpC",
    )
    enroll(crm, "cmpC", [DANIEL], T0)
    assert campaign.tick(day(0))["drafted"] == 4
    add_scheduled_send(crm, B, 2)
    server.start(create_app(context))
    try:
        with httpx.Client(trust_env=False, timeout=10) as http:
            yield World(context, crm, campaign, server, http, outbox_dir)
    finally:
        server.stop()


def add_scheduled_send(crm: CrmStore, thread_id: str, touch: int) -> None:
    """An approved touch waiting for its send window (written directly)."""
    from coachgraph.store.crm import outbox

    with crm.connect(write=True) as conn:
        conn.execute(
            outbox.insert().values(
                idempotency_key=idempotency_key(thread_id, touch),
                thread_id=thread_id,
                touch=touch,
                to_email=DANIEL_EMAIL,
                subject="A second note",
                body="Hi Daniel",
                message_id=f"<{touch}-scheduled@seller.example>",
                status="scheduled",
                created_at=iso(T0),
            )
        )


def one_click(world: World, url: str) -> httpx.Response:
    """POST exactly what a mailbox provider sends (RFC 8058 §3.2)."""
    return world.http.post(url, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK)


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert "default-src 'self'" in response.headers["content-security-policy"]


def contact_row(crm: CrmStore, contact_id: str) -> dict[str, Any]:
    with crm.connect() as conn:
        row = conn.execute(select(contacts).where(contacts.c.id == contact_id)).one()
    return dict(row._mapping)


def suppression_row(crm: CrmStore, address: str) -> dict[str, Any] | None:
    query = select(suppression).where(suppression.c.email_sha256 == email_sha256(address))
    with crm.connect() as conn:
        row = conn.execute(query).first()
    return dict(row._mapping) if row else None


# -- the one-click POST ---------------------------------------------------------------------


def test_message_carries_both_links_and_no_pii(world: World) -> None:
    message = world.message()

    url = one_click_url_of(message)
    assert url == f"{world.server.url}/u/{token_for(DANIEL, 'cmpA', SECRET)}"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "mailto:sam@seller.example?subject=unsubscribe" in message["List-Unsubscribe"]
    token = url.rsplit("/", 1)[1]
    for exposed in (DANIEL, "cmpA", "daniel", "northwind", DANIEL_EMAIL):
        assert exposed not in token


def test_one_click_unsubscribes_from_every_campaign_of_the_sender(world: World) -> None:
    crm = world.crm
    other_sender, other_contact = enrollment(crm, C), enrollment(crm, TOM_A)

    response = one_click(world, world.link())

    assert response.status_code == 200, response.text
    assert "unsubscribed" in response.text
    assert_security_headers(response)
    assert contact_row(crm, DANIEL)["unsubscribed"] is True
    entry = suppression_row(crm, DANIEL_EMAIL)
    assert entry is not None
    assert (entry["reason"], entry["source"], entry["at"]) == ("unsubscribed", "one-click", iso(T0))
    for thread_id in (A, B):
        row = enrollment(crm, thread_id)
        assert (row["status"], row["stop_reason"]) == ("stopped", "unsubscribed"), thread_id
        assert row["lease_owner"] is None and row["lease_expires_at"] is None
        assert row["next_due_at"] is None and row["pending_decision"] is None
    assert enrollment(crm, C) == other_sender  # another sender's thread: untouched
    assert enrollment(crm, TOM_A) == other_contact
    [scheduled] = [r for r in outbox_rows(crm) if r["thread_id"] == B]
    assert scheduled["status"] == "withdrawn"
    [event] = audit_rows(crm, "inbound")
    assert (event["sender"], event["receiver"], event["at"]) == ("contact", "coach", iso(T0))
    assert event["metadata"]["source"] == "one-click"
    assert event["metadata"]["stopped_threads"] == [A, B]
    assert event["metadata"]["withdrawn_sends"] == 1


def test_the_waiting_draft_is_cancelled_and_cannot_be_sent(world: World) -> None:
    assert one_click(world, world.link()).status_code == 200

    assert A not in {i["thread_id"] for i in world.campaign.pending(day(0))}
    with pytest.raises(UserError):
        world.campaign.decide(A, HumanResponse(type="accept", args=None), day(0))
    assert [r for r in outbox_rows(world.crm) if r["thread_id"] == A] == []
    assert not any((world.outbox_dir / "new").iterdir())
    assert enrollment(world.crm, A)["status"] == "stopped"


def test_a_replayed_token_changes_nothing_and_says_so(world: World) -> None:
    url = world.link()
    assert one_click(world, url).status_code == 200
    before = snapshot(world.crm)

    again = one_click(world, url)

    assert again.status_code == 200
    assert "already unsubscribed" in again.text
    assert snapshot(world.crm) == before


def test_the_pages_form_post_also_unsubscribes(world: World) -> None:
    response = world.http.post(world.link(), data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert contact_row(world.crm, DANIEL)["unsubscribed"] is True


def test_a_multipart_one_click_post_unsubscribes(world: World) -> None:
    response = world.http.post(world.link(), files={"List-Unsubscribe": (None, "One-Click")})

    assert response.status_code == 200, response.text
    assert enrollment(world.crm, A)["status"] == "stopped"


@pytest.mark.parametrize("body", [b"", b"List-Unsubscribe=Yes", b"unsubscribe=1"])
def test_a_post_without_the_one_click_body_changes_nothing(world: World, body: bytes) -> None:
    url = world.link()
    before = snapshot(world.crm)

    response = world.http.post(url, content=body, headers=ONE_CLICK)

    assert response.status_code == 400
    assert_security_headers(response)
    assert snapshot(world.crm) == before


def forgeries(url: str) -> list[str]:
    base, token = url.rsplit("/", 1)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    other_key = token_for(DANIEL, "cmpA", SecretStr("another-key-" + "y" * 24))
    return [
        f"{base}/{flipped}",
        f"{base}/{token[:-4]}",
        f"{base}/{other_key}",
        f"{base}/{token}AAAA",
        f"{base}/not-a-token",
        f"{base}/{DANIEL}",
    ]


def test_forged_tokens_are_refused_and_change_nothing(world: World) -> None:
    url = world.link()
    before = snapshot(world.crm)

    for forged in forgeries(url):
        posted = one_click(world, forged)
        shown = world.http.get(forged)
        assert posted.status_code == 400, (forged, posted.text)
        assert shown.status_code == 400
        assert "not valid" in posted.text
        assert_security_headers(posted)

    assert snapshot(world.crm) == before


def test_a_token_for_a_deleted_contact_is_refused_and_changes_nothing(world: World) -> None:
    url = world.link()
    with world.crm.connect(write=True) as conn:
        conn.execute(contacts.delete().where(contacts.c.id == DANIEL))
    before = snapshot(world.crm)

    response = one_click(world, url)

    assert response.status_code == 404
    assert "no longer hold this address" in response.text
    assert world.http.get(url).status_code == 404
    assert snapshot(world.crm) == before


def test_get_shows_an_escaped_confirmation_page_and_changes_nothing(world: World) -> None:
    with world.crm.connect(write=True) as conn:
        conn.execute(
            campaigns.update()
            .where(campaigns.c.id == "cmpA")
            .values(sender_name='<script>alert("x")</script> & Co')
        )
    url = world.link()
    before = snapshot(world.crm)

    page = world.http.get(url)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page.text
    assert "<script" not in page.text
    assert '<form method="post">' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert "http" not in page.text.replace(world.server.url, "")  # no external assets
    assert_security_headers(page)
    assert snapshot(world.crm) == before


def test_every_response_carries_the_security_headers(world: World) -> None:
    health = world.http.get(f"{world.server.url}/healthz")
    missing = world.http.get(f"{world.server.url}/nowhere")
    wrong_method = world.http.put(world.link())

    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    for response in (health, missing, wrong_method):
        assert_security_headers(response)


# -- DKIM -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DkimKey:
    private_file: Path
    public_record: bytes

    def dnsfunc(self, name: bytes, timeout: int = 5) -> bytes | None:
        return self.public_record if name == b"mail2026._domainkey.seller.example." else None


def openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> DkimKey:
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "dkim.pem"
    openssl("genrsa", "-out", str(private), "2048")
    der = openssl("rsa", "-in", str(private), "-pubout", "-outform", "DER")
    return DkimKey(private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der))


def signed_context(key: DkimKey, tmp_path: Path, **more: Any) -> Context:
    values: dict[str, Any] = {
        "outbox_dir": str(tmp_path / "outbox"),
        "public_url": "https://mail.seller.example",
        "secret_key": SECRET,
        "dkim_domain": "seller.example",
        "dkim_selector": "mail2026",
        "dkim_private_key_file": str(key.private_file),
    }
    return Context(**(values | more))


CAMPAIGN_ROW = {"id": "cmpA", "sender_name": "Sam Rivera", "sender_email": "sam@seller.example"}
DRAFT = {"to": DANIEL_EMAIL, "subject": "Dispatch, this quarter", "body": "Hi Daniel,\n\nSam"}


def signed_email(context: Context) -> OutgoingEmail:
    return OutgoingEmail.from_campaign(CAMPAIGN_ROW, f"{A}:touch:1", DRAFT, T0, context)


def signed_tags(raw: bytes) -> dict[str, str]:
    value = str(parse(raw)["DKIM-Signature"])
    tags = (part.split("=", 1) for part in re.sub(r"\s+", "", value).split(";") if part)
    return {name: tag for name, tag in tags}


def test_file_transport_signs_and_the_signature_verifies(dkim_key: DkimKey, tmp_path: Path) -> None:
    context = signed_context(dkim_key, tmp_path)

    make_transport(context).send(build_message(signed_email(context)))

    [path] = list((tmp_path / "outbox" / "new").iterdir())
    raw = path.read_bytes()
    assert dkim.verify(raw, dnsfunc=dkim_key.dnsfunc)
    signed = signed_tags(raw)["h"].lower().split(":")
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "to", "subject"} <= set(signed)
    assert {"date", "message-id"} <= set(signed)
    tampered = raw.replace(b"/u/", b"/x/", 1)
    assert not dkim.verify(tampered, dnsfunc=dkim_key.dnsfunc)


def test_smtp_transport_signs_and_the_received_message_verifies(
    dkim_key: DkimKey, tmp_path: Path
) -> None:
    with SmtpServer() as server:
        context = signed_context(
            dkim_key,
            tmp_path,
            transport="smtp",
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_starttls=False,
        )
        make_transport(context).send(build_message(signed_email(context)))
        [received] = server.received

    assert dkim.verify(received.content, dnsfunc=dkim_key.dnsfunc)
    assert parse(received.content)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    "unset", ["dkim_domain", "dkim_selector", "dkim_private_key_file"], ids=lambda n: n
)
def test_partial_dkim_settings_are_one_config_error(
    dkim_key: DkimKey, tmp_path: Path, unset: str
) -> None:
    context = signed_context(dkim_key, tmp_path, **{unset: None})

    with pytest.raises(ConfigError, match=f"missing {unset.upper()}") as caught:
        make_transport(context)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError):
        check_config(context)  # what tick and approvals run before touching any thread


@pytest.mark.parametrize("content", [None, b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_an_unreadable_or_unusable_key_is_one_config_error(
    dkim_key: DkimKey, tmp_path: Path, content: bytes | None
) -> None:
    key_file = tmp_path / "bad.pem"
    if content is not None:
        key_file.write_bytes(content)
    context = signed_context(dkim_key, tmp_path, dkim_private_key_file=str(key_file))

    with pytest.raises(ConfigError, match="DKIM_PRIVATE_KEY_FILE") as caught:
        make_transport(context)
    assert "\n" not in str(caught.value)


def test_tick_with_partial_dkim_settings_exits_1_in_one_line(
    cli: Callable[..., Run], cli_env: dict[str, str]
) -> None:
    run = cli("tick", COACHGRAPH_DB=cli_env["COACHGRAPH_DB"], DKIM_DOMAIN="seller.example")

    assert "DKIM" in one_line_error(run)


# -- coachgraph serve -----------------------------------------------------------------------


def test_serve_without_a_secret_key_exits_1_in_one_line(
    cli: Callable[..., Run], cli_env: dict[str, str]
) -> None:
    run = cli("serve", COACHGRAPH_DB=cli_env["COACHGRAPH_DB"])

    assert "COACHGRAPH_SECRET_KEY" in one_line_error(run)


def test_serve_with_a_short_secret_key_exits_1_in_one_line(
    cli: Callable[..., Run], cli_env: dict[str, str]
) -> None:
    run = cli("serve", COACHGRAPH_DB=cli_env["COACHGRAPH_DB"], COACHGRAPH_SECRET_KEY="short")

    assert "at least" in one_line_error(run)
