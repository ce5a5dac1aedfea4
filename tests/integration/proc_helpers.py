"""Run the real `coachgraph` CLI in child processes, and an SMTP peer that can kill one.

- `cli_env` builds a child environment with nothing from the developer's shell that
  could change the outcome (no model key, no flags, no SMTP or LangSmith settings).
- `start` / `run` / `run_json` run `python -m coachgraph ...` as a real process.
- `ScriptedSmtpServer` is aiosmtpd on loopback that records every message it receives
  and, per `mode`, accepts it, refuses RCPT with 550, or SIGKILLs a client process once
  the whole message is in and only then answers 250 — the "provider has it, the client
  died before it heard so" crash.
- `expire_lease` stands in for the real clock moving past a dead process's lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Self

import pytest

from coachgraph.store.crm import CrmStore, enrollments
from schemas.values import iso
from tests.conftest import ALWAYS_OPEN

HOST = "127.0.0.1"

# Settings a developer's shell (or CI) may carry; children get none of them.
_SCRUBBED_PREFIXES = (
    "LLM_",
    "DEEPSEEK",
    "CAMPAIGN_",
    "ORCHESTRATOR_",
    "COACHGRAPH_",
    "SMTP_",
    "LANGSMITH_",
    "LANGCHAIN_",
    "OPENAI_",
)


def cli_env(db_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """A child environment over `db_url`: clean settings, the file outbox under `workdir`."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_SCRUBBED_PREFIXES)}
    env["COACHGRAPH_DB"] = db_url
    env["COACHGRAPH_OUTBOX_DIR"] = str(workdir / "outbox")
    # A proxy from the shell must not sit between the children and loopback peers.
    env["NO_PROXY"] = env["no_proxy"] = ",".join(
        filter(None, [os.environ.get("NO_PROXY"), HOST, "localhost"])
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env | ALWAYS_OPEN | extra


@dataclass
class Run:
    """How one child process ended."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def ok(self) -> Run:
        """Self, after asserting a clean exit (shows the child's stderr otherwise)."""
        assert self.code == 0, f"coachgraph {' '.join(self.args)} exited {self.code}:\n{self.err}"
        return self

    def json(self) -> Any:
        """Stdout parsed as JSON, after asserting a clean exit."""
        return json.loads(self.ok().out)


class Child:
    """A started `python -m coachgraph ...` process."""

    def __init__(self, args: tuple[str, ...], env: dict[str, str], cwd: Path) -> None:
        self.args = args
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "coachgraph", *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def pid(self) -> int:
        """The child's pid (the CLI runs in this very process: no shell, no wrapper)."""
        return self.popen.pid

    def wait(self, timeout: float = 60.0) -> Run:
        """Wait for the child to end; kill it and fail the test when it overruns."""
        try:
            out, err = self.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            out, err = self.popen.communicate()
            pytest.fail(f"coachgraph {' '.join(self.args)} ran over {timeout} s:\n{err}")
        return Run(self.args, self.popen.returncode, out, err)


def start(*args: str, env: dict[str, str], cwd: Path) -> Child:
    """Start `coachgraph ARGS` without waiting for it."""
    return Child(args, env, cwd)


def run(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60.0) -> Run:
    """Run `coachgraph ARGS` to the end."""
    return start(*args, env=env, cwd=cwd).wait(timeout)


def run_json(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60.0) -> Any:
    """Run `coachgraph ARGS --json` and parse what it printed."""
    return run(*args, "--json", env=env, cwd=cwd, timeout=timeout).json()


def expire_lease(db_url: str, thread_id: str) -> None:
    """Make the thread's lease lapse, as ten real minutes after its holder died would.

    Leases run on the wall clock whatever `--now` says (`due_index.claim`); even the
    shortest COACHGRAPH_LEASE_SECONDS would make the test wait. Moving the expiry into
    the past is exactly what the passage of that time does to the row; nothing else changes.
    """
    past = iso(datetime.now(UTC) - timedelta(minutes=1))
    with CrmStore(db_url).connect(write=True) as conn:
        changed = conn.execute(
            enrollments.update()
            .where(enrollments.c.thread_id == thread_id, enrollments.c.lease_owner.is_not(None))
            .values(lease_expires_at=past)
        ).rowcount
    assert changed == 1, f"{thread_id} holds no lease to expire"


# -- SMTP ------------------------------------------------------------------------------

Mode = Literal["accept", "defer_rcpt", "reject_rcpt", "kill_client"]
"""`defer_rcpt`: 450 (try later); `reject_rcpt`: 550 (no such user, a hard bounce)."""


@dataclass(frozen=True)
class Received:
    """One message whose whole content reached the server."""

    rcpt_tos: list[str]
    content: bytes

    def header(self, name: str) -> str:
        """One header's value (first occurrence), "" when absent."""
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        return str(message.get(name, ""))


@dataclass
class _Handler:
    mode: Mode = "accept"
    victim: subprocess.Popen[str] | None = None
    received: list[Received] = field(default_factory=list)
    killed: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.mode == "defer_rcpt":
            return f"450 4.2.1 <{address}>: Mailbox busy, try again later"
        if self.mode == "reject_rcpt":
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(Received(list(envelope.rcpt_tos), bytes(envelope.content)))
        if self.mode == "kill_client":
            victim = await self._victim()
            victim.send_signal(signal.SIGKILL)
            self.killed.append(victim.pid)
            # Answer only once the client is gone, so it can never hear the 250.
            await _until_dead(victim.pid)
        return "250 2.0.0 Ok: queued"

    async def _victim(self, timeout: float = 10.0) -> subprocess.Popen[str]:
        # The test names the victim right after starting it, long before it can send.
        deadline = time.monotonic() + timeout
        while self.victim is None:
            assert time.monotonic() < deadline, "kill_client mode needs a victim process"
            await asyncio.sleep(0.005)
        return self.victim


async def _until_dead(pid: int, timeout: float = 10.0) -> None:
    """Wait until `pid` has exited (a zombie awaiting its parent's wait counts)."""
    deadline = time.monotonic() + timeout
    stat = Path(f"/proc/{pid}/stat")
    while time.monotonic() < deadline:
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return
        if state in ("Z", "X"):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"process {pid} still alive {timeout} s after SIGKILL")


class ScriptedSmtpServer:
    """aiosmtpd on 127.0.0.1 (free port) recording every message that reaches DATA.

    Set `mode` (and, for `kill_client`, `victim`) at any time; the next session follows it.
    """

    def __init__(self, mode: Mode = "accept") -> None:
        base: Any = pytest.importorskip("aiosmtpd.controller").Controller

        class FreePortController(base):  # type: ignore[misc]
            def _trigger_server(self) -> None:
                self.port = self.server.sockets[0].getsockname()[1]
                super()._trigger_server()

        self._handler = _Handler(mode=mode)
        self._controller = FreePortController(
            self._handler, hostname=HOST, port=0, ready_timeout=10.0, server_hostname="smtp.test"
        )
        self.host = HOST

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        return int(self._controller.port)

    @property
    def mode(self) -> Mode:
        """What the next session does with a message."""
        return self._handler.mode

    @mode.setter
    def mode(self, value: Mode) -> None:
        self._handler.mode = value

    @property
    def victim(self) -> subprocess.Popen[str] | None:
        """The process `kill_client` mode kills."""
        return self._handler.victim

    @victim.setter
    def victim(self, value: subprocess.Popen[str] | None) -> None:
        self._handler.victim = value

    @property
    def received(self) -> list[Received]:
        """Every message received so far (accepted or not answered), oldest first."""
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def killed(self) -> list[int]:
        """Pids killed mid-session."""
        return list(self._handler.killed)

    def env(self) -> dict[str, str]:
        """Child settings that send through this server (plain text: no certificate)."""
        return {
            "COACHGRAPH_TRANSPORT": "smtp",
            "SMTP_HOST": self.host,
            "SMTP_PORT": str(self.port),
            "SMTP_STARTTLS": "false",
        }

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._controller.stop()
