"""A real IMAP server on loopback for the inbox tests: pymap's in-memory (dict) backend.

- `ImapServer`: `pymap --no-tls … dict` in a subprocess on 127.0.0.1 at a free port, with one
  user and password. `append()` delivers messages to INBOX over IMAP (as an MTA's delivery
  would show them); `restart()` starts a fresh server on the same port, whose INBOX has a
  new UIDVALIDITY and no messages.
- `DroppingProxy`: a TCP relay in front of it that cuts both connections when the client
  sends its (n+1)-th `UID FETCH`, as a server or network dropping mid-batch would.

Both are context managers.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

from imap_tools import MailBoxUnencrypted

HOST = "127.0.0.1"
USER = "sam@seller.example"
PASSWORD = "imap-test-password"
START_TIMEOUT_S = 15.0


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _pymap() -> str:
    beside = Path(sys.executable).with_name("pymap")
    return str(beside) if beside.exists() else (shutil.which("pymap") or "pymap")


class ImapServer:
    """pymap's in-memory backend on 127.0.0.1, one user, plain IMAP (no TLS)."""

    def __init__(self, user: str = USER, password: str = PASSWORD) -> None:
        self.host, self.port = HOST, free_port()
        self.user, self.password = user, password
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until it greets."""
        command = [
            _pymap(), "--no-tls", "--host", HOST, "--port", str(self.port),
            "--no-service", "admin", "dict",
            "--demo-user", self.user, "--demo-password", self.password,
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_ready()

    def stop(self) -> None:
        """Stop the server (its mail is gone)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._process = None

    def restart(self) -> None:
        """A fresh server on the same port: INBOX empty, with a new UIDVALIDITY."""
        self.stop()
        self.start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None and self._process.poll() is None, "pymap exited"
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"pymap did not start on {HOST}:{self.port}")

    def mailbox(self) -> MailBoxUnencrypted:
        """A logged-in client with INBOX selected (the caller logs out)."""
        return MailBoxUnencrypted(HOST, self.port, timeout=10).login(self.user, self.password)

    def append(self, *messages: bytes) -> list[int]:
        """Deliver messages to INBOX, in order; their UIDs."""
        uids = []
        box = self.mailbox()
        try:
            for raw in messages:
                _status, data = box.client.append("INBOX", None, None, raw)
                uids.append(int(data[0].decode().split("]")[0].split()[-1]))
        finally:
            box.logout()
        return uids

    def unseen(self) -> int:
        """How many INBOX messages have no \\Seen flag."""
        box = self.mailbox()
        try:
            return int(box.folder.status("INBOX", ["UNSEEN"])["UNSEEN"])
        finally:
            box.logout()

    def uid_validity(self) -> str:
        """INBOX's UIDVALIDITY."""
        box = self.mailbox()
        try:
            return str(box.folder.status("INBOX", ["UIDVALIDITY"])["UIDVALIDITY"])
        finally:
            box.logout()


class DroppingProxy:
    """Relay 127.0.0.1:port → the server; cut the connection at the (fetches+1)-th UID FETCH."""

    def __init__(self, target_port: int, fetches: int) -> None:
        self.fetches, self.seen = fetches, 0
        self._target = target_port
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)
        self.host, self.port = HOST, int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._close_all()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            server = socket.create_connection((HOST, self._target))
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if upstream and b"UID FETCH" in data.upper():
                    self.seen += 1
                    if self.seen > self.fetches:
                        self._close_all()
                        return
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def _close_all(self) -> None:
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
