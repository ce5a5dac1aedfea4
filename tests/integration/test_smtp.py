"""The SMTP transport against real SMTP peers on loopback (STARTTLS off: no certificate)."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from pydantic import SecretStr

from coachgraph.mail.errors import SendAmbiguous, SendRefused
from coachgraph.mail.message import OutgoingEmail, build_message, ensure_unsubscribe_line
from coachgraph.mail.smtp import SmtpTransport
from coachgraph.mail.transport import make_transport
from schemas.context import Context
from tests.integration.smtp_server import BrokenSmtpServer, SmtpServer

pytestmark = pytest.mark.integration

PASSWORD = "pw-Zq81-never-print-me"
EMAIL = OutgoingEmail(
    idempotency_key="campaign:c1:contact:k9:touch:1",
    to="ana.lopez@example.org",
    sender_name="Zoë Åberg",
    sender_email="zoe@sender.example",
    subject="Grüße zu Ihrer Series B ☕",
    body="Hi Ana,\n\n.a line that starts with a dot\nThanks,\nZoë",
    sent_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
)


def smtp_to(server: SmtpServer | BrokenSmtpServer, **overrides: object) -> SmtpTransport:
    """A transport to `server`: plain text, a 5 s budget per socket operation."""
    options: dict[str, object] = {
        "starttls": False,
        "timeout": 5.0,
        "local_hostname": "client.test",
    }
    return SmtpTransport(server.host, server.port, **(options | overrides))  # type: ignore[arg-type]


Peer = TypeVar("Peer", SmtpServer, BrokenSmtpServer)


class Peers:
    """Starts SMTP peers for one test; the fixture stops them all at teardown."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack

    def start(self, peer: Peer) -> Peer:
        return self._stack.enter_context(peer)


@pytest.fixture
def peers() -> Iterator[Peers]:
    with ExitStack() as stack:
        yield Peers(stack)


@pytest.fixture
def server(peers: Peers) -> SmtpServer:
    return peers.start(SmtpServer())


def test_delivers_the_built_message_unchanged(server: SmtpServer) -> None:
    message = build_message(EMAIL)

    smtp_to(server).send(message)

    [received] = server.received
    assert (received.mail_from, received.rcpt_tos) == (EMAIL.sender_email, [EMAIL.to])
    stored = received.content.replace(b"\r\n", b"\n")  # as a receiving MTA would store it
    assert stored == message.as_bytes()
    parsed = email.message_from_bytes(stored, policy=email.policy.default)
    assert parsed["Message-ID"] == message["Message-ID"]
    assert parsed["List-Unsubscribe"] == "<mailto:zoe@sender.example?subject=unsubscribe>"
    assert parsed["Subject"] == EMAIL.subject
    assert parsed["From"].addresses[0].display_name == "Zoë Åberg"
    assert parsed["Date"].datetime == EMAIL.sent_at
    assert parsed.get_content() == ensure_unsubscribe_line(EMAIL.body) + "\n"


def test_settings_select_smtp_and_deliver(server: SmtpServer) -> None:
    settings = Context(
        transport="smtp", smtp_host=server.host, smtp_port=server.port, smtp_starttls=False
    )

    make_transport(settings).send(build_message(EMAIL))

    assert len(server.received) == 1


def test_logs_in_with_user_and_password(peers: Peers) -> None:
    server = peers.start(SmtpServer(login=("sam", PASSWORD)))

    smtp_to(server, user="sam", password=SecretStr(PASSWORD)).send(build_message(EMAIL))

    assert [r.login for r in server.received] == ["sam"]


def test_wrong_password_is_refused_without_printing_any_password(peers: Peers) -> None:
    server = peers.start(SmtpServer(login=("sam", PASSWORD)))
    wrong = "pw-wrong-Kx42-secret"

    with pytest.raises(SendRefused) as caught:
        smtp_to(server, user="sam", password=SecretStr(wrong)).send(build_message(EMAIL))

    assert caught.value.smtp_code == 535
    assert f"SMTP server {server.host}:{server.port} rejected the login: 535" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), str(caught.value.__cause__)):
        assert wrong not in text and PASSWORD not in text
    assert server.received == []


def test_no_login_where_one_is_required_is_refused_at_mail(peers: Peers) -> None:
    server = peers.start(SmtpServer(login=("sam", PASSWORD)))

    with pytest.raises(SendRefused, match=re.escape("refused sender zoe@sender.example: 530")):
        smtp_to(server).send(build_message(EMAIL))


def test_refused_recipient_is_refused_with_the_code(peers: Peers) -> None:
    server = peers.start(SmtpServer(refuse="rcpt"))

    with pytest.raises(SendRefused) as caught:
        smtp_to(server).send(build_message(EMAIL))

    assert caught.value.smtp_code == 550
    assert caught.value.retryable
    where = f"{server.host}:{server.port}"
    assert f"SMTP server {where} refused recipient {EMAIL.to}: 550 5.1.1" in str(caught.value)


def test_refused_message_is_refused_with_the_code(peers: Peers) -> None:
    server = peers.start(SmtpServer(refuse="data"))

    with pytest.raises(SendRefused, match=re.escape("refused the message: 554 5.7.1")) as caught:
        smtp_to(server).send(build_message(EMAIL))

    assert caught.value.smtp_code == 554
    assert server.received == []


def test_nothing_listening_is_refused() -> None:
    # A bound socket that never listens: the port stays ours, and connecting is refused.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        transport = SmtpTransport("127.0.0.1", port, starttls=False, timeout=5.0)

        with pytest.raises(SendRefused, match=f"127.0.0.1:{port} refused the connection"):
            transport.send(build_message(EMAIL))


def test_starttls_on_but_not_offered_is_refused(server: SmtpServer) -> None:
    with pytest.raises(SendRefused, match="STARTTLS extension not supported"):
        smtp_to(server, starttls=True).send(build_message(EMAIL))

    assert server.received == []


def test_hang_up_before_data_is_refused(peers: Peers) -> None:
    server = peers.start(BrokenSmtpServer(fail_at="mail", how="drop"))

    with pytest.raises(SendRefused, match="closed the connection before the message was sent"):
        smtp_to(server).send(build_message(EMAIL))

    assert server.payload == b""


def test_hang_up_after_the_whole_message_is_ambiguous(peers: Peers) -> None:
    server = peers.start(BrokenSmtpServer(fail_at="payload", how="drop"))

    with pytest.raises(SendAmbiguous) as caught:
        smtp_to(server).send(build_message(EMAIL))

    assert not caught.value.retryable
    assert f"SMTP server {server.host}:{server.port} was sent the whole message" in str(
        caught.value
    )
    assert server.payload.endswith(b"\r\n.\r\n")
    assert b"\r\n..a line that starts with a dot\r\n" in server.payload  # dot-stuffed


def test_silence_after_the_whole_message_is_ambiguous(peers: Peers) -> None:
    server = peers.start(BrokenSmtpServer(fail_at="payload", how="stall"))

    with pytest.raises(SendAmbiguous, match="gave no final answer"):
        smtp_to(server, timeout=0.4).send(build_message(EMAIL))

    assert server.payload.endswith(b"\r\n.\r\n")
