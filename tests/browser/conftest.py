"""Browser fixtures: Debian's Chromium driven by Playwright, and the real app under uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from coachgraph.web.app import create_app
from tests.integration.proc_helpers import ScriptedSmtpServer
from tests.integration.web_helpers import InboxWorld, inbox_world

CHROMIUM = Path("/usr/bin/chromium")
SKIP_REASON = "install Debian's chromium (.ci/run does): apt-get install chromium"


class LiveServer:
    """uvicorn serving an app in a thread, on a loopback socket bound before the app is made."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, app: Any) -> None:
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self.socket.close()


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
