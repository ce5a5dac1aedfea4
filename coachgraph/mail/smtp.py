"""The SMTP transport (stdlib smtplib): STARTTLS or plain, login, and an honest outcome."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses

from pydantic import SecretStr

from coachgraph.mail.errors import RecipientRejected, SendAmbiguous, SendRefused

DEFAULT_SMTP_TIMEOUT_S = 30.0
"""Seconds any one SMTP socket operation may take."""


_CRLF = b"\r\n"


_LEADING_DOT = re.compile(rb"(?m)^\.")


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
