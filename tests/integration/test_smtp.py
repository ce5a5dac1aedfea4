"""The SMTP transport against real SMTP peers on loopback (STARTTLS off: no certificate)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from coachgraph.sending import (
    OutgoingEmail,
    SendAmbiguous,
    SendRefused,
    SmtpTransport,
    build_message,
    ensure_unsubscribe_line,
    make_transport,
)
from coachgraph.settings import Settings
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


def transport_for(server: SmtpServer | BrokenSmtpServer, **overrides: object) -> SmtpTransport:
    """A transport to `server`: plain text, a 5 s budget per socket operation."""
    options: dict[str, object] = {"starttls": False, "timeout": 5.0, "local_hostname": "client.test"}
    return SmtpTransport(server.host, server.port, **(options | overrides))  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


def test_delivers_the_built_message_unchanged(server: SmtpServer) -> None:
    message = build_message(EMAIL)

    transport_for(server).send(message)

    [received] = server.received
    assert (received.mail_from, received.rcpt_tos) == (EMAIL.sender_email, [EMAIL.to])
    assert received.content.replace(b"\r\n", b"\n") == message.as_bytes()
    parsed = email.message_from_bytes(received.content, policy=email.policy.default)
    assert parsed["Message-ID"] == message["Message-ID"]
    assert parsed["List-Unsubscribe"] == "<mailto:zoe@sender.example?subject=unsubscribe>"
    assert parsed["Subject"] == EMAIL.subject
    assert parsed["From"].addresses[0].display_name == "Zoë Åberg"
    assert parsed["Date"].datetime == EMAIL.sent_at
    assert parsed.get_content() == ensure_unsubscribe_line(EMAIL.body) + "\n"


def test_settings_select_smtp_and_deliver(server: SmtpServer) -> None:
    settings = Settings(
        transport="smtp", smtp_host=server.host, smtp_port=server.port, smtp_starttls=False
    )

    make_transport(settings).send(build_message(EMAIL))

    assert len(server.received) == 1


def test_logs_in_with_user_and_password() -> None:
    with SmtpServer(login=("sam", PASSWORD)) as server:
        transport_for(server, user="sam", password=SecretStr(PASSWORD)).send(build_message(EMAIL))

    assert [r.login for r in server.received] == ["sam"]


def test_wrong_password_is_refused_without_printing_any_password() -> None:
    wrong = "pw-wrong-Kx42-secret"
    with SmtpServer(login=("sam", PASSWORD)) as server:
        with pytest.raises(SendRefused) as caught:
            transport_for(server, user="sam", password=SecretStr(wrong)).send(build_message(EMAIL))

    assert caught.value.smtp_code == 535
    assert f"{server.host}:{server.port}" in str(caught.value)
    assert "535" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), str(caught.value.__cause__)):
        assert wrong not in text and PASSWORD not in text
    assert server.received == []


def test_no_login_where_one_is_required_is_refused_at_mail() -> None:
    with SmtpServer(login=("sam", PASSWORD)) as server:
        with pytest.raises(SendRefused, match="refused sender zoe@sender.example: 530"):
            transport_for(server).send(build_message(EMAIL))


def test_refused_recipient_is_refused_with_the_code() -> None:
    with SmtpServer(refuse="rcpt") as server:
        with pytest.raises(SendRefused) as caught:
            transport_for(server).send(build_message(EMAIL))

    assert caught.value.smtp_code == 550
    assert caught.value.retryable
    assert f"SMTP server {server.host}:{server.port} refused recipient {EMAIL.to}: 550" in str(
        caught.value
    )


def test_refused_message_is_refused_with_the_code() -> None:
    with SmtpServer(refuse="data") as server:
        with pytest.raises(SendRefused, match="refused the message: 554 5.7.1") as caught:
            transport_for(server).send(build_message(EMAIL))

    assert caught.value.smtp_code == 554
    assert server.received == []


def test_nothing_listening_is_refused() -> None:
    # A bound socket that never listens: the port is ours, and connecting is refused.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        with pytest.raises(SendRefused, match=f"127.0.0.1:{port} refused the connection"):
            SmtpTransport("127.0.0.1", port, starttls=False, timeout=5.0).send(
                build_message(EMAIL)
            )


def test_starttls_required_but_not_offered_is_refused(server: SmtpServer) -> None:
    with pytest.raises(SendRefused, match="STARTTLS extension not supported"):
        transport_for(server, starttls=True).send(build_message(EMAIL))

    assert server.received == []


def test_hang_up_before_data_is_refused() -> None:
    with BrokenSmtpServer(fail_at="mail", how="drop") as server:
        with pytest.raises(SendRefused, match="closed the connection before the message was sent"):
            transport_for(server).send(build_message(EMAIL))

    assert server.payload == b""


def test_hang_up_after_the_whole_message_is_ambiguous() -> None:
    with BrokenSmtpServer(fail_at="payload", how="drop") as server:
        with pytest.raises(SendAmbiguous) as caught:
            transport_for(server).send(build_message(EMAIL))

    assert not caught.value.retryable
    assert f"{server.host}:{server.port}" in str(caught.value)
    assert server.payload.endswith(b"\r\n.\r\n")
    assert b"\r\n..a line that starts with a dot\r\n" in server.payload  # dot-stuffed


def test_silence_after_the_whole_message_is_ambiguous() -> None:
    with BrokenSmtpServer(fail_at="payload", how="stall") as server:
        with pytest.raises(SendAmbiguous, match="gave no final answer"):
            transport_for(server, timeout=0.4).send(build_message(EMAIL))

    assert server.payload.endswith(b"\r\n.\r\n")
