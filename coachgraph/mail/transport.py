"""Sending one approved email: build the message and hand it to a transport.

Whether to send at all is the outbox's decision (`coachgraph.mail.outbox`); this module only
sends, and says precisely how a failure ended: `SendRefused` means the message was
definitely not accepted (sending it again cannot duplicate it), `SendAmbiguous` means it
may have been (a person must reconcile before anything is sent again).
"""

from __future__ import annotations

import contextlib
import hashlib
import mailbox
import os
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from coachgraph.mail.dkim import DkimSettings, DkimSigner, dkim_signer
from coachgraph.mail.errors import SendRefused
from coachgraph.mail.message import MESSAGE_ID_HEX_CHARS
from coachgraph.mail.smtp import SmtpTransport
from coachgraph.mail.unsubscribe import (
    OneClickSettings,
    check_one_click,
)
from schemas.errors import ConfigError


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
