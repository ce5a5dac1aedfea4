"""Sending one approved email: build the message and hand it to a transport.

Whether to send at all is the outbox's decision (`coachgraph.mail.outbox`); this module only
sends, and says precisely how a failure ended: `SendRefused` means the message was
definitely not accepted (sending it again cannot duplicate it), `SendAmbiguous` means it
may have been (a person must reconcile before anything is sent again).
"""

from __future__ import annotations

import contextlib
import email.policy
import hashlib
import mailbox
import os
import re
import smtplib
import socket
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import SecretStr

from coachgraph.mail.dkim import DkimSettings, DkimSigner, dkim_signer
from coachgraph.mail.unsubscribe import (
    ONE_CLICK_BODY,
    OneClickSettings,
    check_one_click,
    one_click_url,
)
from nodes.email.offline_composer import UNSUBSCRIBE_LINE
from nodes.email.text_rules import has_opt_out_line
from schemas.errors import ConfigError

MESSAGE_ID_HEX_CHARS = 32
"""Hex characters of SHA-256(idempotency key) in a Message-ID's left part (128 bits)."""
DEFAULT_SMTP_TIMEOUT_S = 30.0
"""Seconds any one SMTP socket operation may take."""

# 7-bit clean bodies (quoted-printable when a line is non-ASCII or long) pass every SMTP
# server without 8BITMIME, and keep the maildir files plain ASCII.
_POLICY = email.policy.default.clone(cte_type="7bit")
_CRLF = b"\r\n"
_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class OutgoingEmail:
    """One approved touch, exactly as it will be sent."""

    idempotency_key: str
    """The outbox key for this (thread, touch); the Message-ID is derived from it."""
    to: str
    """The recipient's bare address, e.g. `ana@example.com`."""
    sender_name: str
    """Display name in From (may be non-ASCII or empty)."""
    sender_email: str
    """The sender's bare address; its domain is the Message-ID's domain."""
    subject: str
    """One line: a CR or LF is refused as header injection."""
    body: str
    """Plain text; an unsubscribe line is appended when it has none."""
    sent_at: datetime
    """Timezone-aware instant for the Date header (simulated time in tests and demos)."""
    unsubscribe_url: str | None = None
    """The RFC 8058 one-click link (`https://…/u/TOKEN`); None: the mailto link only."""
    references: tuple[str, ...] = ()
    """Message-IDs of the earlier touches of its thread, oldest first: a follow-up replies
    to the last of them (`In-Reply-To`) and names them all (`References`)."""

    @classmethod
    def from_campaign(
        cls,
        campaign: Mapping[str, Any],
        key: str,
        draft: Mapping[str, Any],
        sent_at: datetime,
        links: OneClickSettings | None = None,
    ) -> OutgoingEmail:
        """The email a campaign's sender sends for one draft (`to`, `subject`, `body`).

        With `links` (the run's context) and `COACHGRAPH_PUBLIC_URL` set, it carries a
        one-click unsubscribe link for the contact and campaign the key names.

        Raises:
            ConfigError: the one-click settings cannot work.
        """
        return cls(
            idempotency_key=key,
            to=draft["to"],
            sender_name=campaign["sender_name"],
            sender_email=campaign["sender_email"],
            subject=draft["subject"],
            body=draft["body"],
            sent_at=sent_at,
            unsubscribe_url=one_click_url(links, key) if links is not None else None,
        )


def message_id_for(idempotency_key: str, sender_email: str) -> str:
    """The deterministic Message-ID, `<hex@sender-domain>`, for one outbox key.

    Raises:
        ValueError: `sender_email` is not one ASCII address with a domain.
    """
    domain = _parse_address(sender_email, "sender_email").domain.lower()
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
    return f"<{digest[:MESSAGE_ID_HEX_CHARS]}@{domain}>"


_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|antw|fwd?|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.I)


def reply_subject(subject: str) -> str:
    """`Re: ` and the conversation's subject, never `Re: Re: …`."""
    return "Re: " + without_reply_prefix(subject)


def without_reply_prefix(subject: str) -> str:
    """The subject without any `Re:`/`AW:`/`Fwd:` prefixes."""
    return _REPLY_PREFIX.sub("", subject).strip()


def ensure_unsubscribe_line(body: str) -> str:
    """Return `body` as is when it has an opt-out line, else with the standard line appended.

    "Has an opt-out line" is the reviewer's test (`has_opt_out_line`), so a draft that
    passed review is never given a second line, and one that merely mentions the word
    still gets one.
    """
    if has_opt_out_line(body):
        return body
    return f"{body.rstrip()}\n\n{UNSUBSCRIBE_LINE}"


def build_message(email: OutgoingEmail) -> EmailMessage:
    """Build the MIME message; the same `email` always gives byte-identical `as_bytes()`.

    Raises:
        ValueError: the subject holds a line break, the body is empty, an address is not
            one ASCII address, or `sent_at` is naive.
    """
    _check_sendable(email)
    sender = _parse_address(email.sender_email, "sender_email", email.sender_name)
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = _parse_address(email.to, "to")
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.sent_at)
    message["Message-ID"] = message_id_for(email.idempotency_key, email.sender_email)
    if email.references:
        message["In-Reply-To"] = email.references[-1]
        message["References"] = " ".join(email.references)
    _add_list_unsubscribe(message, email, sender)
    message.set_content(ensure_unsubscribe_line(email.body), subtype="plain", charset="utf-8")
    return message


def _add_list_unsubscribe(message: EmailMessage, email: OutgoingEmail, sender: Address) -> None:
    """The mailto link always; the one-click link first, and its POST header, when given."""
    mailto = f"<mailto:{sender.addr_spec}?subject=unsubscribe>"
    if email.unsubscribe_url is None:
        message["List-Unsubscribe"] = mailto
        return
    if not email.unsubscribe_url.startswith(("https://", "http://")) or re.search(
        r"[\s<>,]", email.unsubscribe_url
    ):
        raise ValueError(f"unsubscribe_url {email.unsubscribe_url!r} is not one http(s) URL")
    message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>, {mailto}"
    message["List-Unsubscribe-Post"] = ONE_CLICK_BODY


def _check_sendable(email: OutgoingEmail) -> None:
    if "\r" in email.subject or "\n" in email.subject:
        raise ValueError(f"subject holds a line break (header injection): {email.subject!r}")
    if not email.body.strip():
        raise ValueError(f"email {email.idempotency_key!r} has an empty body; nothing to send")
    if email.sent_at.utcoffset() is None:
        raise ValueError(f"sent_at must be timezone-aware, got {email.sent_at.isoformat()}")


def _parse_address(value: str, field: str, display_name: str = "") -> Address:
    """Parse one bare ASCII address; anything else (lists, CR/LF, `<…>`) is refused."""
    if not value.isascii():
        raise ValueError(f"{field} {value!r} is not ASCII; SMTPUTF8 addresses are not supported")
    local, _, domain = value.rpartition("@")
    if not local or not domain:
        raise ValueError(f"{field} {value!r} is not an email address like name@example.com")
    try:
        return Address(display_name=display_name, addr_spec=value)
    except (ValueError, IndexError, HeaderParseError) as exc:  # the parser raises all three
        raise ValueError(f"{field} {value!r} is not one email address ({exc})") from None


class SendError(Exception):
    """Sending one message failed.

    `retryable` is True only when the message was definitely not accepted, so handing the
    same message over again cannot deliver it twice. It says nothing about whether a retry
    would succeed: `smtp_code` (when the server answered) tells a 4xx transient refusal
    from a 5xx permanent one.
    """

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code
        """The server's reply code, when a reply caused the failure."""


class SendRefused(SendError):
    """The message was definitely not accepted; it is safe to send it again later.

    E.g. a 4xx/5xx reply to MAIL, RCPT, DATA or the end of data, a refused or unresolvable
    connection, a failed login or STARTTLS, a connection lost before the whole message was
    written, or an outbox folder that cannot be written.
    """

    retryable: ClassVar[bool] = True


class RecipientRejected(SendRefused):
    """The server refused the recipient permanently (5xx at RCPT): a hard bounce.

    The address is bounced and suppressed everywhere; the message is never retried.
    """


class SendAmbiguous(SendError):
    """The message may or may not have been accepted; never resend without a person.

    The whole message was written, but the connection dropped or timed out (or the reply
    was unreadable) before the server's final answer to it.
    """


class Transport(Protocol):
    """Something that delivers one built message, or raises a `SendError`."""

    name: str
    """Short name for logs and the audit trail (`file`, `smtp`)."""

    def send(self, message: EmailMessage) -> None:
        """Deliver `message`; raise `SendRefused` or `SendAmbiguous` when it fails."""
        ...


class FileTransport:
    """Deliver into a local Maildir: one file per Message-ID, in `new/`.

    `mailbox.Maildir.add` invents a fresh key per call, so a repeat would make a second
    file. Instead the file is named from the SHA-256 of the Message-ID and delivered the
    way Maildir does it — written under `tmp/`, then hard-linked into `new/` — so a repeat
    (even a concurrent one) finds the name taken and leaves the first file alone. A
    message a mail reader has moved to `cur/` keeps its key and still counts as written.
    `mailbox.Maildir` creates the folders and can read the outbox back.
    """

    name: str = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        """The Maildir folder; created on first send."""

    def send(self, message: EmailMessage) -> None:
        """Write `message` into the Maildir unless its Message-ID is already there.

        Raises:
            ValueError: the message has no Message-ID.
            SendRefused: the folder or file could not be written.
        """
        key = maildir_key(message)
        try:
            self._deliver(key, message.as_bytes())
        except OSError as exc:
            raise SendRefused(
                f"could not write {key} into the outbox maildir {self.path}: {exc}"
            ) from exc

    def _deliver(self, key: str, data: bytes) -> None:
        if key in _open_maildir(self.path):
            return
        tmp = self.path / "tmp" / f"{key}.{os.getpid()}.{uuid.uuid4().hex}"
        try:
            _write_synced(tmp, data)
            _link_once(tmp, self.path / "new" / key)
        finally:
            tmp.unlink(missing_ok=True)


def _open_maildir(path: Path) -> mailbox.Maildir:
    # Maildir(create=True) makes tmp/, new/ and cur/ only when it makes the folder itself;
    # an existing empty folder (a fresh volume, a temp dir) needs them as well.
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    return mailbox.Maildir(path, create=True)


def maildir_key(message: EmailMessage) -> str:
    """The Maildir file name (and key) a message is written under, from its Message-ID.

    Raises:
        ValueError: the message has no Message-ID.
    """
    message_id = str(message.get("Message-ID", "")).strip()
    if not message_id:
        raise ValueError("message has no Message-ID; build it with build_message()")
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:MESSAGE_ID_HEX_CHARS] + ".eml"


def _link_once(source: Path, target: Path) -> None:
    # A concurrent send of the same Message-ID may have got there first: its file stands.
    with contextlib.suppress(FileExistsError):
        os.link(source, target)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


@dataclass(frozen=True)
class _Envelope:
    sender: str
    recipients: list[str]
    payload: bytes
    """The DATA payload: CRLF lines, dot-stuffed, ending in `CRLF.CRLF`."""


def _envelope_of(message: EmailMessage) -> _Envelope:
    if "Bcc" in message or "Resent-Bcc" in message:
        raise ValueError("Bcc is not supported: every recipient would see it in the message")
    senders = _addresses(message, "From")
    recipients = _addresses(message, "To", "Cc")
    if len(senders) != 1 or not recipients:
        raise ValueError(f"message needs one From and a To or Cc, got {senders} → {recipients}")
    if not all(addr.isascii() for addr in [*senders, *recipients]):
        raise ValueError(f"non-ASCII address in {senders} → {recipients}; SMTPUTF8 is unsupported")
    return _Envelope(senders[0], recipients, _data_payload(message))


def _addresses(message: EmailMessage, *fields: str) -> list[str]:
    values = [str(value) for field in fields for value in message.get_all(field, [])]
    return [addr for _, addr in getaddresses(values) if addr]


def _data_payload(message: EmailMessage) -> bytes:
    flat = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    stuffed = _LEADING_DOT.sub(b"..", flat)
    if not stuffed.endswith(_CRLF):
        stuffed += _CRLF
    return stuffed + b"." + _CRLF


class SmtpTransport:
    """Deliver over SMTP with stdlib `smtplib`: STARTTLS and login when configured.

    The transaction is driven step by step (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, the
    payload, the final reply) rather than through `send_message`, so a failure is known to
    come before the whole payload was written (`SendRefused`) or after it (`SendAmbiguous`).
    Implicit TLS (port 465) is not supported.
    """

    name: str = "smtp"

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        user: str | None = None,
        password: SecretStr | None = None,
        starttls: bool = True,
        timeout: float = DEFAULT_SMTP_TIMEOUT_S,
        local_hostname: str | None = None,
    ) -> None:
        self.host = host
        """SMTP server host."""
        self.port = port
        """SMTP server port."""
        self.user = user
        """Login, or None to send without AUTH."""
        self._password = password
        self.starttls = starttls
        """Upgrade with STARTTLS (certificate verified) before AUTH and MAIL."""
        self.timeout = timeout
        """Seconds any one socket operation may take."""
        self.local_hostname = local_hostname
        """Name sent in EHLO; None lets smtplib use this machine's FQDN."""

    @property
    def where(self) -> str:
        """`host:port`, as error messages name the server."""
        return f"{self.host}:{self.port}"

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` in one SMTP transaction; always hang up afterwards.

        Raises:
            ValueError: the message has no usable From/To, has a Bcc, or a non-ASCII address.
            SendRefused: the server definitely did not take the message.
            SendAmbiguous: the payload was written but no final answer came back.
        """
        envelope = _envelope_of(message)
        smtp = self._connect()
        try:
            self._hand_over(smtp, envelope)
            _await_acceptance(smtp, self.where)
        finally:
            _hang_up(smtp)

    def _connect(self) -> smtplib.SMTP:
        try:
            return smtplib.SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
            )
        except (smtplib.SMTPException, OSError) as exc:
            raise self._refused(exc) from exc

    def _hand_over(self, smtp: smtplib.SMTP, envelope: _Envelope) -> None:
        """Everything up to the payload's last byte: any failure here means not accepted."""
        try:
            self._open_session(smtp)
            _start_transaction(smtp, envelope, self.where)
            _write_payload(smtp, envelope.payload, self.where)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            raise self._refused(exc) from exc

    def _open_session(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo_or_helo_if_needed()
        if self.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if self.user is not None:
            password = self._password.get_secret_value() if self._password else ""
            smtp.login(self.user, password)

    def _refused(self, exc: BaseException) -> SendRefused:
        text = f"SMTP server {self.where} {_describe(exc, self.timeout)}"
        if self._password and self._password.get_secret_value():
            text = text.replace(self._password.get_secret_value(), "**********")
        code = exc.smtp_code if isinstance(exc, smtplib.SMTPResponseException) else None
        return SendRefused(text, code)


def _start_transaction(smtp: smtplib.SMTP, envelope: _Envelope, where: str) -> None:
    code, text = smtp.mail(envelope.sender)
    if code != 250:
        raise SendRefused(
            f"SMTP server {where} refused sender {envelope.sender}: {_reply(code, text)}", code
        )
    for recipient in envelope.recipients:
        code, text = smtp.rcpt(recipient)
        if code not in (250, 251):
            refusal = RecipientRejected if 500 <= code < 600 else SendRefused
            raise refusal(
                f"SMTP server {where} refused recipient {recipient}: {_reply(code, text)}", code
            )


def _write_payload(smtp: smtplib.SMTP, payload: bytes, where: str) -> None:
    code, text = smtp.docmd("DATA")
    if code != 354:
        raise SendRefused(f"SMTP server {where} refused DATA: {_reply(code, text)}", code)
    # Until sendall returns, the closing CRLF.CRLF has not left this machine, so a
    # failure inside smtp.send cannot have been accepted.
    smtp.send(payload)


def _await_acceptance(smtp: smtplib.SMTP, where: str) -> None:
    """Read the reply to the end of data: 2xx sent, 4xx/5xx refused, anything else unknown."""
    try:
        code, text = smtp.getreply()
    except (smtplib.SMTPException, OSError) as exc:
        raise SendAmbiguous(
            f"SMTP server {where} was sent the whole message but gave no final answer "
            f"({exc}); it may or may not have been accepted"
        ) from exc
    if 200 <= code < 300:
        return
    if 400 <= code < 600:
        raise SendRefused(f"SMTP server {where} refused the message: {_reply(code, text)}", code)
    raise SendAmbiguous(
        f"SMTP server {where} answered the message with an unreadable reply "
        f"{_reply(code, text)!r}; it may or may not have been accepted"
    )


def _hang_up(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


_SMTPLIB_REFUSALS: tuple[tuple[type[smtplib.SMTPResponseException], str], ...] = (
    (smtplib.SMTPAuthenticationError, "rejected the login"),
    (smtplib.SMTPHeloError, "refused EHLO/HELO"),
    (smtplib.SMTPConnectError, "refused the connection"),
    (smtplib.SMTPResponseException, "answered"),
)


def _describe(exc: BaseException, timeout: float) -> str:
    """What went wrong, as the rest of "SMTP server host:port …"."""
    if isinstance(exc, smtplib.SMTPResponseException):
        verb = next(v for kind, v in _SMTPLIB_REFUSALS if isinstance(exc, kind))
        return f"{verb}: {_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        cause = str(exc.__context__ or "")
        detail = f"{exc} ({cause})" if cause and cause not in str(exc) else str(exc)
        return f"closed the connection before the message was sent: {detail}"
    if isinstance(exc, ConnectionRefusedError):
        return "refused the connection (is an SMTP server listening there?)"
    if isinstance(exc, socket.gaierror):
        return f"could not be resolved: {exc.strerror}"
    if isinstance(exc, TimeoutError):
        return f"did not answer within {timeout:g} s"
    if isinstance(exc, ssl.SSLError):
        return f"failed the TLS handshake: {exc}"
    return f"failed: {exc or type(exc).__name__}"


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return f"{code} {' '.join(text.split())}"


class TransportSettings(DkimSettings, OneClickSettings, Protocol):
    """The settings a transport is chosen from: a run's `Context`."""

    @property
    def transport(self) -> str:
        """`file` or `smtp` (`COACHGRAPH_TRANSPORT`)."""

    @property
    def outbox_dir(self) -> str:
        """Maildir for the file transport (`COACHGRAPH_OUTBOX_DIR`)."""

    @property
    def smtp_host(self) -> str | None:
        """SMTP server (`SMTP_HOST`)."""

    @property
    def smtp_port(self) -> int:
        """SMTP port (`SMTP_PORT`)."""

    @property
    def smtp_user(self) -> str | None:
        """SMTP login (`SMTP_USER`)."""

    @property
    def smtp_password(self) -> SecretStr | None:
        """SMTP password (`SMTP_PASSWORD`)."""

    @property
    def smtp_starttls(self) -> bool:
        """STARTTLS on or off (`SMTP_STARTTLS`)."""


def make_transport(settings: TransportSettings) -> Transport:
    """The transport `COACHGRAPH_TRANSPORT` selects, configured from the same settings.

    Raises:
        ConfigError: an unknown transport, SMTP without a host, half an SMTP login, one-click
            or DKIM settings that cannot work (e.g. only some of the DKIM_* settings).
    """
    check_one_click(settings)
    signer = dkim_signer(settings)
    transport = _base_transport(settings)
    return SignedTransport(transport, signer) if signer is not None else transport


def _base_transport(settings: TransportSettings) -> Transport:
    if settings.transport == "file":
        return FileTransport(settings.outbox_dir)
    if settings.transport == "smtp":
        return _smtp_transport(settings)
    raise ConfigError(f"COACHGRAPH_TRANSPORT must be 'file' or 'smtp', not {settings.transport!r}")


class SignedTransport:
    """A transport that DKIM-signs each message, as the last step before it leaves."""

    def __init__(self, inner: Transport, signer: DkimSigner) -> None:
        self.inner = inner
        """The transport that delivers the signed message."""
        self.signer = signer
        """The DKIM signer."""
        self.name = inner.name
        """The inner transport's name (`file`, `smtp`)."""

    def send(self, message: EmailMessage) -> None:
        """Sign `message` and hand it to the inner transport (its errors pass through)."""
        self.inner.send(self.signer.sign(message))


def transport_for(context: TransportSettings) -> Transport:
    """The transport a graph run's context selects (what the send node calls)."""
    return make_transport(context)


def _smtp_transport(settings: TransportSettings) -> SmtpTransport:
    if not settings.smtp_host:
        raise ConfigError("COACHGRAPH_TRANSPORT=smtp needs SMTP_HOST")
    user, password = _smtp_login(settings)
    return SmtpTransport(
        settings.smtp_host,
        settings.smtp_port,
        user=user,
        password=password,
        starttls=settings.smtp_starttls,
    )


def _smtp_login(settings: TransportSettings) -> tuple[str | None, SecretStr | None]:
    user, password = settings.smtp_user, settings.smtp_password
    if (user is None) != (password is None):
        raise ConfigError("SMTP_USER and SMTP_PASSWORD go together: set both to log in, or neither")
    secret = password.get_secret_value() if password else ""
    if not f"{user or ''}{secret}".isascii():
        raise ConfigError("SMTP_USER and SMTP_PASSWORD must be ASCII (smtplib sends them so)")
    return user, password
