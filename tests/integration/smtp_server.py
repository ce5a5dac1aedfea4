"""Real SMTP peers on loopback for the SMTP transport's integration tests.

- `SmtpServer`: aiosmtpd on 127.0.0.1 at a free port. It records every message it
  accepts (`Received`: envelope sender, recipients, content bytes) and can be scripted to
  refuse RCPT with 550 or the message with 554, and to demand a login (checked against
  one user and password, over plain text: there is no certificate for STARTTLS).
- `BrokenSmtpServer`: a stdlib-only peer that plays a normal session up to a chosen point
  (the MAIL command, or the end of the message payload) and then hangs up or goes silent,
  which aiosmtpd cannot be made to do.

Both are context managers::

    with SmtpServer(refuse="rcpt") as server:
        SmtpTransport(server.host, server.port, starttls=False).send(message)
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, BinaryIO, Literal, Self

import pytest

HOST = "127.0.0.1"
Refusal = Literal["rcpt", "data"]


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    """The message as received: CRLF lines, dot-unstuffed, without the final `.` line."""
    login: str | None
    """Who had logged in on the session, if anyone."""


@dataclass
class _Handler:
    """aiosmtpd hooks: record what is accepted, refuse what the test scripted."""

    refuse: Refusal | None
    require_login: bool
    received: list[Received] = field(default_factory=list)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.require_login and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse == "rcpt":
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse == "data":
            return "554 5.7.1 Message rejected: looks like spam"
        login = session.auth_data.login.decode() if session.authenticated else None
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login)
        )
        return "250 2.0.0 Ok: queued"


def _authenticator_for(user: str, password: str) -> Any:
    smtp = pytest.importorskip("aiosmtpd.smtp")

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        ok = isinstance(auth_data, smtp.LoginPassword) and auth_data == (
            user.encode(),
            password.encode(),
        )
        return smtp.AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


@functools.cache
def _controller_class() -> Any:
    """aiosmtpd's Controller, made to bind port 0 and learn its port before the probe.

    Imported lazily so that the stdlib `BrokenSmtpServer` tests run without aiosmtpd.
    """
    controller = pytest.importorskip("aiosmtpd.controller")

    class FreePortController(controller.Controller):  # type: ignore[misc]
        def _trigger_server(self) -> None:
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    return FreePortController


class SmtpServer:
    """aiosmtpd on 127.0.0.1 (free port) recording accepted messages in `received`.

    Args:
        refuse: "rcpt" answers every RCPT with 550; "data" answers the message with 554.
        login: (user, password): offer AUTH without TLS, and answer MAIL with 530 until
            the session has logged in with exactly these.
    """

    def __init__(
        self, *, refuse: Refusal | None = None, login: tuple[str, str] | None = None
    ) -> None:
        self._handler = _Handler(refuse=refuse, require_login=login is not None)
        auth = {"authenticator": _authenticator_for(*login)} if login else {}
        self._controller = _controller_class()(
            self._handler,
            hostname=HOST,
            port=0,
            ready_timeout=10.0,
            server_hostname="smtp.test",
            auth_require_tls=False,
            **auth,
        )
        self.host = HOST

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        return int(self._controller.port)

    @property
    def received(self) -> list[Received]:
        """Messages accepted so far, oldest first."""
        return self._handler.received

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


FailAt = Literal["mail", "payload"]
"""Where `BrokenSmtpServer` fails: on the MAIL command, or after the whole payload."""
FailHow = Literal["drop", "stall"]
"""`drop` closes the connection without a reply; `stall` never replies (until stopped)."""


class BrokenSmtpServer:
    """A stdlib SMTP peer on 127.0.0.1 that fails at one point of one session.

    Until `fail_at` it answers like a plain SMTP server (no extensions). `payload` holds
    the message bytes it read after DATA (up to and including the final `.` line), so a
    test can show the whole message did arrive before the server went away.
    """

    def __init__(self, fail_at: FailAt, how: FailHow) -> None:
        self.fail_at, self.how = fail_at, how
        self.payload = b""
        self._stop = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)  # accept() wakes up to notice stop
        self.host, self.port = HOST, self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        conn = self._accept()
        if conn is None:
            return
        # OSError: the client hung up first, and there is nothing left to play.
        with contextlib.suppress(OSError), conn, conn.makefile("rb") as lines:
            self._converse(conn, lines)

    def _accept(self) -> socket.socket | None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            return conn
        return None

    def _converse(self, conn: socket.socket, lines: BinaryIO) -> None:
        conn.sendall(b"220 broken.test ESMTP\r\n")
        for line in lines:
            verb = line[:4].upper()
            if verb == b"MAIL" and self.fail_at == "mail":
                break
            if verb == b"QUIT":
                conn.sendall(b"221 Bye\r\n")
                return
            if verb != b"DATA":
                conn.sendall(b"250 OK\r\n")  # EHLO, MAIL, RCPT, RSET, NOOP
                continue
            conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            self.payload = _read_payload(lines)
            if self.fail_at == "payload":
                break
            conn.sendall(b"250 OK\r\n")
        if self.how == "stall":
            self._stop.wait()
        # Returning closes the connection without a reply.


def _read_payload(lines: BinaryIO) -> bytes:
    """The message lines up to and including the lone `.` line (or the client's hang-up)."""
    payload = b""
    for line in lines:
        payload += line
        if line == b".\r\n":
            break
    return payload
