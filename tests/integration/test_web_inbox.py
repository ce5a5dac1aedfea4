"""The web inbox (SPEC §17) against the real app on a SQLite file, sending to loopback SMTP.

Each test drives the app as a browser would (forms, cookies, redirects) through
Starlette's TestClient, and asserts what was persisted: outbox rows, messages the SMTP
server received, the thread's checkpointed state.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from coachgraph.store.crm import CrmStore
from coachgraph.store.users import add_user, check_password, verify
from coachgraph.web.app import SECURITY_HEADERS, create_app
from schemas.approval import HumanResponse
from schemas.errors import UserError
from tests.integration.campaign_helpers import day
from tests.integration.conftest import Run, one_line_error
from tests.integration.proc_helpers import ScriptedSmtpServer
from tests.integration.supervision_helpers import outbox_rows
from tests.integration.web_helpers import (
    PASSWORD,
    REVIEWER,
    THREADS,
    InboxWorld,
    csrf_of,
    inbox_world,
    interrupt_of,
)

pytestmark = pytest.mark.integration

HTML = {"accept": "text/html"}
C01, C02, C04 = THREADS


@pytest.fixture
def world(tmp_path: Path, smtp: ScriptedSmtpServer) -> InboxWorld:
    return inbox_world(tmp_path, smtp, "http://127.0.0.1:8000")


@pytest.fixture
def client(world: InboxWorld) -> Iterator[TestClient]:
    with TestClient(create_app(world.context), headers=HTML) as http:
        yield http


@pytest.fixture
def signed_in(client: TestClient) -> TestClient:
    done = client.post("/login", data={"username": REVIEWER, "password": PASSWORD})
    assert done.status_code == 200 and "Drafts waiting for approval" in done.text
    return client


def open_draft(http: TestClient, thread_id: str) -> tuple[str, str]:
    """The draft page's CSRF token and interrupt id."""
    page = http.get(f"/drafts/{thread_id}")
    assert page.status_code == 200, page.text
    return csrf_of(page.text), interrupt_of(page.text)


def decide(http: TestClient, thread_id: str, csrf: str, interrupt: str, **fields: str) -> Any:
    data = {"csrf_token": csrf, "interrupt_id": interrupt} | fields
    return http.post(f"/drafts/{thread_id}/decide", data=data)


def sent_keys(world: InboxWorld) -> list[str]:
    return [r["idempotency_key"] for r in outbox_rows(world.crm) if r["status"] == "sent"]


# Users and sign-in


def test_passwords_are_stored_as_scrypt_and_checked(world: InboxWorld) -> None:
    assert verify(world.crm, REVIEWER, PASSWORD)
    assert not verify(world.crm, REVIEWER, PASSWORD + "x")
    assert not verify(world.crm, "nobody", PASSWORD)
    assert not check_password(PASSWORD, "not-a-hash")
    with pytest.raises(UserError, match="already exists"):
        add_user(world.crm, REVIEWER, "another password")
    with pytest.raises(UserError, match="at least 8"):
        add_user(world.crm, "bob", "short")
    with pytest.raises(UserError, match="empty"):
        add_user(world.crm, "  ", "long enough")


def test_sign_in_with_the_right_password(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    done = client.post(
        "/login", data={"username": REVIEWER, "password": PASSWORD}, follow_redirects=False
    )
    assert (done.status_code, done.headers["location"]) == (303, "/")
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused(client: TestClient) -> None:
    done = client.post("/login", data={"username": REVIEWER, "password": "wrong password"})
    assert done.status_code == 401
    assert "Wrong user name or password" in done.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_without_a_session_pages_redirect_and_api_clients_get_401(client: TestClient) -> None:
    for path in ("/", f"/drafts/{C01}", "/audit", "/attention", "/campaigns/q4web"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303, path
        assert page.headers["location"].startswith("/login?next=")
        for name, value in SECURITY_HEADERS.items():
            assert page.headers[name] == value
    api = client.get("/", headers={"accept": "application/json"}, follow_redirects=False)
    assert api.status_code == 401
    posted = client.post(
        f"/drafts/{C01}/decide", data={"action": "approve"}, follow_redirects=False
    )
    assert posted.status_code == 303


def test_the_session_cookie_is_secure_behind_https(world: InboxWorld) -> None:
    app = create_app(world.context.replace(public_url="https://inbox.example"))
    with TestClient(app, base_url="https://testserver") as http:
        done = http.post(
            "/login", data={"username": REVIEWER, "password": PASSWORD}, follow_redirects=False
        )
    assert "secure" in done.headers["set-cookie"].lower()


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(client: TestClient) -> None:
    data = {"username": REVIEWER, "password": PASSWORD}
    back = client.post("/login", data=data | {"next": "/audit"}, follow_redirects=False)
    assert back.headers["location"] == "/audit"
    away = client.post("/login", data=data | {"next": "//evil.example/"}, follow_redirects=False)
    assert away.headers["location"] == "/"


# Deciding on one draft


def test_approve_sends_through_smtp(
    world: InboxWorld, signed_in: TestClient, smtp: ScriptedSmtpServer
) -> None:
    csrf, interrupt = open_draft(signed_in, C02)
    done = decide(signed_in, C02, csrf, interrupt, action="approve")
    assert done.status_code == 200 and "accept → email sent" in done.text
    assert sent_keys(world) == [f"{C02}:touch:1"]
    assert len(smtp.received) == 1
    assert world.campaign.state(C02).interrupts == ()


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    world: InboxWorld, signed_in: TestClient, smtp: ScriptedSmtpServer
) -> None:
    _, interrupt = open_draft(signed_in, C02)
    for csrf in ("", "forged"):
        done = decide(signed_in, C02, csrf, interrupt, action="approve")
        assert done.status_code == 403
        assert "security token is missing" in done.text
    assert sent_keys(world) == [] and smtp.received == []
    assert world.campaign.state(C02).interrupts[0].id == interrupt


def test_an_edit_with_a_template_marker_is_refused_with_the_reason(
    world: InboxWorld, signed_in: TestClient, smtp: ScriptedSmtpServer
) -> None:
    csrf, interrupt = open_draft(signed_in, C02)
    body = "Hi {{first_name}},\n\nA short note.\n\nReply STOP to unsubscribe."
    done = decide(signed_in, C02, csrf, interrupt, action="edit", subject="Hello", body=body)
    assert done.status_code == 400
    text = done.text
    assert "edit not accepted" in text and "template marker" in text
    assert "{{first_name}}" in text  # the person's edit is kept in the form
    assert sent_keys(world) == [] and smtp.received == []
    assert world.campaign.state(C02).interrupts[0].id == interrupt


def test_an_accepted_edit_sends_the_edited_text(
    world: InboxWorld, signed_in: TestClient, smtp: ScriptedSmtpServer
) -> None:
    csrf, interrupt = open_draft(signed_in, C02)
    body = "Hi Daniel,\n\nA shorter note from the web inbox.\n\nSam"
    done = decide(signed_in, C02, csrf, interrupt, action="edit", subject="Edited", body=body)
    assert "edit → email sent" in done.text
    [row] = [r for r in outbox_rows(world.crm) if r["status"] == "sent"]
    assert (row["subject"], row["thread_id"]) == ("Edited", C02)
    assert "A shorter note from the web inbox." in row["body"]


def test_a_stale_decision_is_refused(world: InboxWorld, signed_in: TestClient) -> None:
    csrf, old = open_draft(signed_in, C02)
    world.campaign.decide(C02, HumanResponse(type="response", args="Shorter, please."), day(0))
    new = world.campaign.state(C02).interrupts[0].id
    assert new != old
    done = decide(signed_in, C02, csrf, old, action="approve")
    assert done.status_code == 409
    assert "the draft changed since you opened it" in done.text
    assert sent_keys(world) == []
    assert world.campaign.state(C02).interrupts[0].id == new


def test_a_double_click_on_approve_sends_once(
    world: InboxWorld, signed_in: TestClient, smtp: ScriptedSmtpServer
) -> None:
    csrf, interrupt = open_draft(signed_in, C02)
    first = decide(signed_in, C02, csrf, interrupt, action="approve")
    second = decide(signed_in, C02, csrf, interrupt, action="approve")
    assert "accept → email sent" in first.text
    assert second.status_code == 409
    assert "not waiting for approval" in second.text
    assert sent_keys(world) == [f"{C02}:touch:1"] and len(smtp.received) == 1


def test_two_simultaneous_approvals_send_once(
    world: InboxWorld, signed_in: TestClient, smtp: ScriptedSmtpServer
) -> None:
    csrf, interrupt = open_draft(signed_in, C02)
    app, cookies = signed_in.app, dict(signed_in.cookies)
    barrier = threading.Barrier(2)

    def click() -> str:
        with TestClient(app, headers=HTML, cookies=cookies) as http:
            barrier.wait()
            return str(decide(http, C02, csrf, interrupt, action="approve").text)

    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda _: click(), range(2)))
    assert sum("accept → email sent" in p for p in pages) == 1
    [other] = [p for p in pages if "accept → email sent" not in p]
    refusals = ("not waiting for approval", "being run by another process", "changed since")
    assert any(r in other for r in refusals), other
    assert sent_keys(world) == [f"{C02}:touch:1"] and len(smtp.received) == 1


def test_reject_skips_the_touch_and_feedback_recomposes(
    world: InboxWorld, signed_in: TestClient
) -> None:
    csrf, interrupt = open_draft(signed_in, C01)
    rejected = decide(signed_in, C01, csrf, interrupt, action="reject", reason="not now")
    assert "ignore → " in rejected.text
    assert world.campaign.state(C01).values["touches"][0]["outcome"] == "skipped"
    csrf, interrupt = open_draft(signed_in, C02)
    fed = decide(signed_in, C02, csrf, interrupt, action="feedback", feedback="Mention Q4.")
    assert "response → " in fed.text
    after = world.campaign.state(C02)
    assert after.interrupts and after.interrupts[0].id != interrupt
    assert sent_keys(world) == []


def test_an_unknown_thread_is_a_404_page(signed_in: TestClient) -> None:
    page = signed_in.get("/drafts/campaign:q4web:contact:nobody")
    assert page.status_code == 404
    assert "unknown thread" in page.text


# The queue and bulk approval


def test_the_queue_groups_drafts_by_campaign_with_verdicts(signed_in: TestClient) -> None:
    page = signed_in.get("/").text
    assert "Q4 outreach" in page and "3 waiting" in page
    assert page.count('class="badge ok">passed') == 3
    for thread_id in THREADS:
        assert f'href="/drafts/{thread_id}"' in page


def test_bulk_approval_confirms_then_sends_each_once(
    world: InboxWorld, signed_in: TestClient, smtp: ScriptedSmtpServer
) -> None:
    queue = signed_in.get("/").text
    picks = [f"{world.campaign.state(t).interrupts[0].id} {t}" for t in (C01, C02)]
    csrf = csrf_of(queue)
    confirm = signed_in.post("/bulk/confirm", data={"csrf_token": csrf, "pick": picks})
    assert confirm.status_code == 200 and "Approve 2 drafts?" in confirm.text
    assert sent_keys(world) == []  # nothing goes before the confirmation
    done = signed_in.post("/bulk/approve", data={"csrf_token": csrf, "pick": picks})
    assert done.text.count("approved → email sent") == 2
    assert sorted(sent_keys(world)) == sorted(f"{t}:touch:1" for t in (C01, C02))
    again = signed_in.post("/bulk/approve", data={"csrf_token": csrf, "pick": picks})
    assert again.text.count("not waiting for approval") == 2
    assert len(smtp.received) == 2


def test_bulk_approval_without_csrf_is_refused(world: InboxWorld, signed_in: TestClient) -> None:
    pick = f"{world.campaign.state(C01).interrupts[0].id} {C01}"
    done = signed_in.post("/bulk/approve", data={"pick": [pick]})
    assert done.status_code == 403 and sent_keys(world) == []


# Escaping and the report pages


def test_a_script_in_a_crm_name_is_escaped(signed_in: TestClient) -> None:
    for page in (signed_in.get("/").text, signed_in.get(f"/drafts/{C04}").text):
        assert "<script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_draft_page_shows_what_is_behind_the_draft(signed_in: TestClient) -> None:
    page = signed_in.get(f"/drafts/{C02}").text
    assert "Touch 1 of 6" in page
    for heading in ("Angle", "Tone", "Review:", "Provenance", "Facts used", "History with"):
        assert heading in page


def test_the_campaign_page_draws_the_funnel(world: InboxWorld, signed_in: TestClient) -> None:
    world.campaign.decide(C02, HumanResponse(type="accept", args=None), day(0))
    page = signed_in.get("/campaigns/q4web")
    assert page.status_code == 200
    assert "<svg" in page.text and 'class="bar sent"' in page.text
    assert "touch 1: 1 sent" in page.text
    assert signed_in.get("/campaigns/nope").status_code == 404


def test_the_audit_and_attention_pages(world: InboxWorld, signed_in: TestClient) -> None:
    audit = signed_in.get("/audit", params={"thread": C02, "limit": "5"})
    assert audit.status_code == 200 and C02 in audit.text
    assert signed_in.get("/audit", params={"type": "bogus"}).status_code == 400
    assert signed_in.get("/audit", params={"limit": "x"}).status_code == 400
    assert signed_in.get("/audit", params={"campaign": "nope"}).status_code == 404
    attention = signed_in.get("/attention")
    assert attention.status_code == 200 and "Waiting on a person" in attention.text


def test_logout_needs_csrf_and_ends_the_session(signed_in: TestClient) -> None:
    assert signed_in.post("/logout", data={}).status_code == 403
    csrf = csrf_of(signed_in.get("/").text)
    signed_in.post("/logout", data={"csrf_token": csrf})
    assert signed_in.get("/", follow_redirects=False).status_code == 303


def test_the_unsubscribe_route_still_needs_no_session(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/u/not-a-token").status_code == 400
    assert client.get("/static/inbox.css").status_code == 200


# `coachgraph user add`


def test_user_add_reads_the_password_from_standard_input(
    cli: Callable[..., Run], empty_crm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def add(name: str, stdin: str) -> Run:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return cli("user", "add", name)

    assert add("alice", "long enough pw\nignored second line\n").code == 0
    assert verify(CrmStore(empty_crm), "alice", "long enough pw")
    assert "already exists" in one_line_error(add("alice", "another password\n"))
    assert "at least 8 characters" in one_line_error(add("bob", "short\n"))
    assert "no password on standard input" in one_line_error(add("bob", ""))
    assert "not allowed" in one_line_error(add("bad name", "long enough pw\n"))
    assert not verify(CrmStore(empty_crm), "bob", "short")
