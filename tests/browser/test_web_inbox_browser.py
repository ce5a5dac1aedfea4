"""The web inbox in a real headless Chromium (SPEC §17): what a reviewer actually clicks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Site
from tests.integration.supervision_helpers import outbox_rows
from tests.integration.web_helpers import PASSWORD, REVIEWER, SCRIPT_NAME, THREADS

pytestmark = pytest.mark.integration

C01, C02, C04 = THREADS
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def sign_in(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/login")
    page.fill("input[name=username]", REVIEWER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/")


def sent(site: Site) -> list[dict[str, Any]]:
    return [r for r in outbox_rows(site.world.crm) if r["status"] == "sent"]


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("COACHGRAPH_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_reviewer_edits_a_draft_and_approves_another(page: Any, site: Site) -> None:
    sign_in(page, site)
    screenshot(page, "queue.png")
    page.click(f'a[href="/drafts/{C02}"]')
    assert "Touch 1 of 6" in page.inner_text("h1")
    screenshot(page, "draft.png")
    page.fill("input[name=subject]", "A shorter note")
    page.fill("textarea[name=body]", "Hi Daniel,\n\nEdited in the browser.\n\nSam")
    page.click("text=Send edited")
    page.wait_for_url(f"{site.url}/")
    assert "edit → email sent" in page.inner_text(".flash")
    page.click(f'a[href="/drafts/{C01}"]')
    page.click("text=Approve and send")
    page.wait_for_url(f"{site.url}/")
    assert "accept → email sent" in page.inner_text(".flash")
    rows = {r["thread_id"]: r for r in sent(site)}
    assert set(rows) == {C01, C02}
    assert rows[C02]["subject"] == "A shorter note"
    assert "Edited in the browser." in rows[C02]["body"]
    assert len(site.smtp.received) == 2


def test_a_refused_edit_shows_why_in_the_page(page: Any, site: Site) -> None:
    sign_in(page, site)
    page.goto(f"{site.url}/drafts/{C02}")
    page.fill("textarea[name=body]", "Hi {{first_name}},\n\nA note.")
    page.click("text=Send edited")
    assert "template marker" in page.inner_text(".error")
    assert sent(site) == []


def test_bulk_approval_asks_first_then_sends(page: Any, site: Site) -> None:
    sign_in(page, site)
    page.uncheck(f'input[name=pick][value$=" {C04}"]')
    page.click("text=Approve the ticked drafts")
    assert "Approve 2 drafts?" in page.inner_text("h1")
    assert sent(site) == []
    page.click("text=Send 2 emails")
    assert page.inner_text("ul.results").count("approved → email sent") == 2
    assert {r["thread_id"] for r in sent(site)} == {C01, C02}


def test_a_script_in_a_contact_name_is_only_text(page: Any, site: Site) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, site)
    assert SCRIPT_NAME in page.inner_text(f'a[href="/drafts/{C04}"]')
    page.click(f'a[href="/drafts/{C04}"]')
    assert SCRIPT_NAME in page.inner_text("h1")
    page.wait_for_timeout(200)
    assert dialogs == []


def test_a_form_posted_without_its_csrf_token_is_refused(browser: Any, site: Site) -> None:
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, site)
        page.goto(f"{site.url}/drafts/{C02}")
        page.eval_on_selector_all("input[name=csrf_token]", "els => els.forEach(e => e.remove())")
        page.click("text=Approve and send")
        assert "security token is missing" in page.inner_text(".error")
        assert sent(site) == [] and site.smtp.received == []
    finally:
        context.close()


def test_a_page_opened_without_a_session_goes_to_login_and_back(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/drafts/{C02}")
    assert page.url.startswith(f"{site.url}/login?next=")
    page.fill("input[name=username]", REVIEWER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/drafts/{C02}")
    assert "Touch 1 of 6" in page.inner_text("h1")
