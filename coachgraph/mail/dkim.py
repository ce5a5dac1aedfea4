"""Optional DKIM signing of outgoing mail with dkimpy (SPEC §11).

On when `DKIM_DOMAIN`, `DKIM_SELECTOR` and `DKIM_PRIVATE_KEY_FILE` are all set; some but
not all of them, or a key that cannot be read or used, is a `ConfigError` found before
anything is sent. The signature covers the headers a receiver or a mailbox provider's
one-click unsubscribe relies on, so none of them can be altered on the way.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import EmailPolicy
from pathlib import Path
from typing import Protocol, cast

import dkim  # type: ignore[import-untyped]

from schemas.errors import ConfigError

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
"""Headers the signature covers (`h=`); one a message lacks is signed as absent."""
_CANONICALIZE = (b"relaxed", b"relaxed")
"""Relaxed both ways: the file transport writes LF, SMTP CRLF; both verify."""
_SETTINGS = ("DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_PRIVATE_KEY_FILE")


class DkimSettings(Protocol):
    """The settings DKIM signing is configured from: a run's `Context`."""

    @property
    def dkim_domain(self) -> str | None:
        """The signing domain `d=` (`DKIM_DOMAIN`)."""

    @property
    def dkim_selector(self) -> str | None:
        """The selector `s=` whose public key is in DNS (`DKIM_SELECTOR`)."""

    @property
    def dkim_private_key_file(self) -> str | None:
        """PEM file holding the RSA private key (`DKIM_PRIVATE_KEY_FILE`)."""


@dataclass(frozen=True)
class DkimSigner:
    """Signs built messages for one domain and selector."""

    domain: str
    """The signing domain (`d=`)."""
    selector: str
    """The DNS selector (`s=`)."""
    private_key: bytes = field(repr=False)
    """The PEM private key."""

    def sign(self, message: EmailMessage) -> EmailMessage:
        """`message` with a DKIM-Signature on top; every other byte is kept as it was.

        Raises:
            ConfigError: the key cannot sign (dkimpy refused it).
        """
        raw = message.as_bytes()
        try:
            header = dkim.sign(
                raw,
                self.selector.encode("ascii"),
                self.domain.encode("ascii"),
                self.private_key,
                canonicalize=_CANONICALIZE,
                include_headers=[name.encode("ascii") for name in SIGNED_HEADERS],
                linesep=b"\n",
            )
        except (dkim.DKIMException, ValueError, IndexError, TypeError) as exc:
            raise ConfigError(f"DKIM_PRIVATE_KEY_FILE cannot sign mail: {exc}") from None
        # Parsed back with refold_source="none", each header goes out exactly as signed.
        base = message.policy if isinstance(message.policy, EmailPolicy) else email.policy.default
        policy = base.clone(refold_source="none")
        return cast(EmailMessage, email.message_from_bytes(header + raw, policy=policy))


def dkim_signer(settings: DkimSettings) -> DkimSigner | None:
    """The signer the DKIM settings describe, or None when they are all unset.

    Raises:
        ConfigError: some but not all are set, a value is not ASCII, or the key file
            cannot be read or used to sign.
    """
    values = (settings.dkim_domain, settings.dkim_selector, settings.dkim_private_key_file)
    if not any(values):
        return None
    if not all(values):
        missing = ", ".join(
            name for name, value in zip(_SETTINGS, values, strict=True) if not value
        )
        raise ConfigError(f"DKIM needs {', '.join(_SETTINGS)} together; missing {missing}")
    domain, selector, key_file = (str(value) for value in values)
    if not f"{domain}{selector}".isascii():
        raise ConfigError("DKIM_DOMAIN and DKIM_SELECTOR must be ASCII (punycode for IDNs)")
    signer = DkimSigner(domain, selector, _read_key(key_file))
    signer.sign(_probe())  # a key dkimpy cannot use fails now, not at the first send
    return signer


def _read_key(path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"DKIM_PRIVATE_KEY_FILE {path} cannot be read: {exc.strerror}") from None
    if b"PRIVATE KEY-----" not in data:
        raise ConfigError(f"DKIM_PRIVATE_KEY_FILE {path} holds no PEM private key")
    return data


def _probe() -> EmailMessage:
    probe = EmailMessage()
    probe["From"] = "probe@example.invalid"
    probe["Subject"] = "probe"
    probe.set_content("probe")
    return probe
