"""Building messages and the file transport, offline (SMTP itself is tested in integration)."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import mailbox
import pickle
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from coachgraph.mail.errors import SendAmbiguous, SendRefused
from coachgraph.mail.message import (
    OutgoingEmail,
    build_message,
    ensure_unsubscribe_line,
    message_id_for,
)
from coachgraph.mail.smtp import SmtpTransport
from coachgraph.mail.transport import FileTransport, maildir_key, make_transport, transport_for
from nodes.email.offline_composer import UNSUBSCRIBE_LINE
from schemas.context import Context
from schemas.errors import UserError

EMAIL = OutgoingEmail(
    idempotency_key="campaign:c1:contact:k9:touch:1",
    to="ana.lopez@example.org",
    sender_name="Sam Rivera",
    sender_email="sam@Coachgraph.Example",
    subject="Your Series B and follow-up work",
    body="Hi Ana,\n\nI read that Acme raised a Series B.\n\nBest,\nSam",
    sent_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
)


def parse(raw: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


@pytest.fixture(autouse=True)
def no_transport_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("COACHGRAPH_OUTBOX_DIR", "SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD"):
        monkeypatch.delenv(key, raising=False)


# --- Message-ID and bytes ---------------------------------------------------------------


def test_message_id_is_deterministic_hex_at_the_sender_domain() -> None:
    first = message_id_for("thread-1:touch:1", "sam@Coachgraph.Example")

    assert first == message_id_for("thread-1:touch:1", "sam@Coachgraph.Example")
    assert re.fullmatch(r"<[0-9a-f]{32}@coachgraph\.example>", first)
    assert first != message_id_for("thread-1:touch:2", "sam@Coachgraph.Example")


@pytest.mark.parametrize("sender", ["", "sam", "sam@", "a@b.com, c@d.com", "sam@exämple.com"])
def test_message_id_needs_one_ascii_sender_address(sender: str) -> None:
    with pytest.raises(ValueError, match="sender_email"):
        message_id_for("k", sender)


def test_same_email_builds_identical_bytes() -> None:
    assert build_message(EMAIL).as_bytes() == build_message(EMAIL).as_bytes()
    other = dataclasses.replace(EMAIL, idempotency_key="campaign:c1:contact:k9:touch:2")
    assert build_message(other)["Message-ID"] != build_message(EMAIL)["Message-ID"]


def test_headers_carry_identity_unsubscribe_and_the_given_date() -> None:
    sent_at = datetime(2026, 3, 2, 10, 30, 15, tzinfo=timezone(timedelta(hours=1)))
    parsed = parse(build_message(dataclasses.replace(EMAIL, sent_at=sent_at)).as_bytes())

    assert parsed["Message-ID"] == message_id_for(EMAIL.idempotency_key, EMAIL.sender_email)
    assert parsed["List-Unsubscribe"] == "<mailto:sam@Coachgraph.Example?subject=unsubscribe>"
    assert parsed["Date"] == "Mon, 02 Mar 2026 10:30:15 +0100"
    assert parsed["Date"].datetime == sent_at
    assert parsed["From"] == "Sam Rivera <sam@Coachgraph.Example>"
    assert parsed["To"] == "ana.lopez@example.org"
    assert parsed["Subject"] == EMAIL.subject
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"


# --- Unsubscribe line ---------------------------------------------------------------------


def test_unsubscribe_line_is_added_when_missing() -> None:
    body = parse(build_message(EMAIL).as_bytes()).get_content()

    assert body == f"{EMAIL.body}\n\n{UNSUBSCRIBE_LINE}\n"


@pytest.mark.parametrize(
    "body",
    [
        f"Hi Ana,\n\nBest,\nSam\n\n{UNSUBSCRIBE_LINE}",
        "Hi Ana,\n\nReply STOP to opt out.",
        "Hi Ana,\n\nTo UNSUBSCRIBE, just say so.",
    ],
)
def test_an_existing_unsubscribe_line_is_not_duplicated(body: str) -> None:
    assert ensure_unsubscribe_line(body) == body
    sent = parse(build_message(dataclasses.replace(EMAIL, body=body)).as_bytes()).get_content()
    assert sent == body + "\n"


def test_trailing_blank_lines_do_not_pile_up_before_the_unsubscribe_line() -> None:
    assert ensure_unsubscribe_line("Hi.\n\n\n") == f"Hi.\n\n{UNSUBSCRIBE_LINE}"


# --- Encoding -----------------------------------------------------------------------------


def test_non_ascii_name_subject_and_body_are_encoded_and_round_trip() -> None:
    fancy = dataclasses.replace(
        EMAIL,
        sender_name="Zoë Åberg, Sales",
        subject="Grüße zu Ihrer Series B ☕ — " + "long words " * 8,
        body="Hallo Jörg,\n\n東京のチームについて読みました。\n\nZoë",
    )
    raw = build_message(fancy).as_bytes()

    assert raw.isascii()  # RFC 2047 headers, quoted-printable or base64 body: 7-bit clean
    parsed = parse(raw)
    assert parsed["From"].addresses[0].display_name == "Zoë Åberg, Sales"
    assert parsed["From"].addresses[0].addr_spec == "sam@Coachgraph.Example"
    assert parsed["Subject"] == fancy.subject
    assert parsed.get_content() == ensure_unsubscribe_line(fancy.body) + "\n"


# --- Refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("subject", ["Hi\nBcc: all@example.com", "Hi\r", "\r\nX-Injected: 1"])
def test_line_break_in_subject_is_refused(subject: str) -> None:
    with pytest.raises(ValueError, match="subject holds a line break"):
        build_message(dataclasses.replace(EMAIL, subject=subject))


@pytest.mark.parametrize("to", ["ana@example.org\r\nBcc: x@example.com", "a@b.com, c@d.com", "x"])
def test_recipient_must_be_one_address(to: str) -> None:
    with pytest.raises(ValueError, match="to "):
        build_message(dataclasses.replace(EMAIL, to=to))


def test_sender_name_with_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="sender_email"):
        build_message(dataclasses.replace(EMAIL, sender_name="Sam\r\nBcc: x@example.com"))


@pytest.mark.parametrize("body", ["", "  \n\t "])
def test_empty_body_is_refused(body: str) -> None:
    with pytest.raises(ValueError, match="empty body"):
        build_message(dataclasses.replace(EMAIL, body=body))


def test_naive_sent_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_message(dataclasses.replace(EMAIL, sent_at=datetime(2026, 3, 2, 9, 30)))


def test_smtp_transport_checks_the_message_before_connecting() -> None:
    message = build_message(EMAIL)
    del message["To"]

    # Unit tests block sockets, so reaching the network would fail differently.
    with pytest.raises(ValueError, match="needs one From and a To or Cc"):
        SmtpTransport("smtp.example.com", starttls=False).send(message)


# --- Errors -------------------------------------------------------------------------------


def test_refused_is_retryable_and_ambiguous_is_not() -> None:
    assert SendRefused("x").retryable
    assert not SendAmbiguous("x").retryable


def test_send_errors_keep_message_and_code_through_pickle() -> None:
    error = pickle.loads(pickle.dumps(SendRefused("server said no", 550)))

    assert (str(error), error.smtp_code) == ("server said no", 550)


# --- File transport -----------------------------------------------------------------------


def test_file_transport_writes_one_message_into_new(tmp_path: Path) -> None:
    message = build_message(EMAIL)

    FileTransport(tmp_path / "outbox").send(message)

    files = list((tmp_path / "outbox" / "new").iterdir())
    assert [f.name for f in files] == [maildir_key(message)]
    assert files[0].read_bytes() == message.as_bytes()
    assert list((tmp_path / "outbox" / "tmp").iterdir()) == []
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    [stored] = [parse(box.get_bytes(key)) for key in box.iterkeys()]
    for header in ("Message-ID", "From", "To", "Subject", "Date", "List-Unsubscribe"):
        assert stored[header] == message[header]


def test_file_transport_writes_a_message_id_once(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)

    transport.send(build_message(EMAIL))
    transport.send(build_message(dataclasses.replace(EMAIL, body="A changed body.")))

    [only] = (tmp_path / "new").iterdir()
    assert b"A changed body" not in only.read_bytes()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_file_transport_counts_a_message_a_reader_moved_to_cur(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)
    transport.send(build_message(EMAIL))
    [written] = (tmp_path / "new").iterdir()
    written.rename(tmp_path / "cur" / f"{written.name}:2,S")

    transport.send(build_message(EMAIL))

    assert list((tmp_path / "new").iterdir()) == []
    assert len(list((tmp_path / "cur").iterdir())) == 1


def test_file_transport_keeps_different_messages_apart(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)

    for touch in (1, 2):
        transport.send(build_message(dataclasses.replace(EMAIL, idempotency_key=f"t:{touch}")))

    assert len(list((tmp_path / "new").iterdir())) == 2


def test_unwritable_outbox_is_refused_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the maildir should be")

    with pytest.raises(SendRefused, match=re.escape(str(blocker))) as caught:
        FileTransport(blocker).send(build_message(EMAIL))
    assert caught.value.retryable


def test_file_transport_needs_a_message_id(tmp_path: Path) -> None:
    message = build_message(EMAIL)
    del message["Message-ID"]

    with pytest.raises(ValueError, match="no Message-ID"):
        FileTransport(tmp_path).send(message)


# --- Choosing a transport -----------------------------------------------------------------


def test_file_is_the_default_transport() -> None:
    transport = make_transport(Context(outbox_dir="/srv/outbox"))

    assert isinstance(transport, FileTransport)
    assert (transport.name, transport.path) == ("file", Path("/srv/outbox"))


def test_smtp_transport_from_settings() -> None:
    settings = Context(
        transport="smtp",
        smtp_host="mail.example.com",
        smtp_port=2525,
        smtp_user="sam",
        smtp_password=SecretStr("pw"),
        smtp_starttls=False,
    )

    transport = make_transport(settings)

    assert isinstance(transport, SmtpTransport)
    assert (transport.name, transport.where, transport.user) == (
        "smtp",
        "mail.example.com:2525",
        "sam",
    )
    assert transport.starttls is False


def test_smtp_without_host_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"^COACHGRAPH_TRANSPORT=smtp needs SMTP_HOST$"):
        make_transport(Context(transport="smtp", smtp_host=None))


@pytest.mark.parametrize(
    ("user", "password"), [("sam", None), (None, SecretStr("pw"))], ids=["no-password", "no-user"]
)
def test_half_an_smtp_login_is_a_user_error(user: str | None, password: SecretStr | None) -> None:
    settings = Context(
        transport="smtp", smtp_host="mail.example.com", smtp_user=user, smtp_password=password
    )

    with pytest.raises(UserError, match="SMTP_USER and SMTP_PASSWORD go together"):
        make_transport(settings)


def test_non_ascii_smtp_login_is_a_user_error() -> None:
    settings = Context(
        transport="smtp", smtp_host="mail.example.com", smtp_user="sam", smtp_password="pässword"
    )

    with pytest.raises(UserError, match="must be ASCII") as caught:
        make_transport(settings)
    assert "pässword" not in str(caught.value)


def test_a_run_context_selects_the_transport_too(tmp_path: Path) -> None:
    assert isinstance(transport_for(Context(outbox_dir=str(tmp_path))), FileTransport)
    with pytest.raises(ValidationError, match="'file' or 'smtp'"):
        Context(transport="pigeon")  # a run's context is validated like the environment
