"""Browser fixtures: Debian's Chromium driven by Playwright, and the real app under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from coachgraph.web.app import create_app
from tests.integration.live_server import LiveServer
from tests.integration.proc_helpers import ScriptedSmtpServer
from tests.integration.web_helpers import InboxWorld, inbox_world

CHROMIUM = Path("/usr/bin/chromium")
SKIP_REASON = "install Debian's chromium (.ci/run does): apt-get install chromium"


@dataclass
class Site:
    """The world behind the app, the app's URL, and the SMTP server it sends to."""

    world: InboxWorld
    url: str
    smtp: ScriptedSmtpServer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module: Playwright's sync API holds an event loop on the main thread
    while it runs, which would break later tests that call `asyncio.run` (a tick does)."""
    if not CHROMIUM.exists():
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    server = LiveServer()
    with ScriptedSmtpServer() as smtp:
        # Playwright's sync API keeps an event loop on this thread; the tick runs its own.
        with ThreadPoolExecutor(1) as pool:
            world = pool.submit(inbox_world, tmp_path, smtp, server.url).result()
        server.start(create_app(world.context))
        try:
            yield Site(world, server.url, smtp)
        finally:
            server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()
