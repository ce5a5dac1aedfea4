"""One-click unsubscribe (RFC 8058): signed tokens, the links that carry them, and their effect.

A token names a contact and a campaign without showing either: it is the pair encrypted
and authenticated under keys derived from `COACHGRAPH_SECRET_KEY`, as a deterministic SIV
construction (RFC 5297's shape, with HMAC-SHA256 as the PRF): the synthetic IV is an
HMAC-SHA256 over the pair, the pair is XORed with an HMAC-SHA256 keystream seeded by that
IV, and the IV is checked again on the way back in constant time. So the link needs no
table, the same (contact, campaign) always gives the same token (a message's bytes stay
deterministic), and changing any bit of it, or signing with another key, is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr

from checkpoints.threads import parse_thread_id
from coachgraph.store.crm import CrmStore
from coachgraph.store.unsubscribe import Unsubscribed, unsubscribe_contact
from schemas.errors import ConfigError, UserError
from schemas.values import iso

MIN_SECRET_CHARS = 16
"""Characters `COACHGRAPH_SECRET_KEY` needs at least: it is the only thing a forger lacks."""
MAX_TOKEN_CHARS = 512
"""Longer input is refused before any decoding (two 64-character ids need about 180)."""
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
"""What `List-Unsubscribe-Post` says and what a mailbox provider POSTs (RFC 8058)."""

_VERSION = b"\x01"
_IV_BYTES = 16
_SEPARATOR = "\n"
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_URL_FORBIDDEN = re.compile(r"[\s<>,\"]")


class TokenError(UserError):
    """An unsubscribe token that is malformed, altered, truncated or signed with another key."""


class OneClickSettings(Protocol):
    """The settings one-click links are made from: a run's `Context`."""

    @property
    def public_url(self) -> str | None:
        """Where `coachgraph serve` is reachable (`COACHGRAPH_PUBLIC_URL`)."""

    @property
    def secret_key(self) -> SecretStr | None:
        """The key that signs tokens (`COACHGRAPH_SECRET_KEY`)."""


def token_for(contact_id: str, campaign_id: str, secret: SecretStr | str) -> str:
    """The opaque, unforgeable token naming one contact in one campaign.

    Raises:
        ValueError: an id is empty or holds a line break.
        ConfigError: the secret is shorter than `MIN_SECRET_CHARS`.
    """
    for name, value in (("contact id", contact_id), ("campaign id", campaign_id)):
        if not value or _SEPARATOR in value:
            raise ValueError(f"{name} {value!r} must be non-empty and on one line")
    mac_key, enc_key = _keys(secret)
    plain = f"{contact_id}{_SEPARATOR}{campaign_id}".encode()
    iv = _synthetic_iv(mac_key, plain)
    return _b64encode(_VERSION + iv + _xor(plain, _keystream(enc_key, iv, len(plain))))


def resolve(token: str, secret: SecretStr | str) -> tuple[str, str]:
    """The (contact_id, campaign_id) a token names.

    Raises:
        TokenError: the token is malformed, truncated, altered or signed with another key.
        ConfigError: the secret is shorter than `MIN_SECRET_CHARS`.
    """
    mac_key, enc_key = _keys(secret)
    raw = _b64decode(token)
    iv, sealed = raw[1 : 1 + _IV_BYTES], raw[1 + _IV_BYTES :]
    plain = _xor(sealed, _keystream(enc_key, iv, len(sealed)))
    if not hmac.compare_digest(iv, _synthetic_iv(mac_key, plain)):
        raise TokenError("this unsubscribe link is not valid (altered, or signed with another key)")
    contact_id, _, campaign_id = plain.decode("utf-8").partition(_SEPARATOR)
    return contact_id, campaign_id


def unsubscribe(crm: CrmStore, token: str, secret: SecretStr | str, now: datetime) -> Unsubscribed:
    """Unsubscribe the token's contact from every campaign of that campaign's sender, at once.

    The contact is flagged `unsubscribed` and suppressed, its live threads in the sender's
    campaigns stop (a waiting draft is cancelled, a scheduled send withdrawn), and it is
    audited, in one transaction. A replayed token changes nothing (`changed` is False).

    Raises:
        TokenError: the token is not valid; nothing is read or changed.
        NotFoundError: the contact no longer exists; nothing is changed.
    """
    contact_id, campaign_id = resolve(token, secret)
    return unsubscribe_contact(crm, contact_id, campaign_id, iso(now))


def unsubscribe_url(public_url: str, token: str) -> str:
    """The one-click link for a token under `public_url` (`https://…/u/TOKEN`)."""
    return f"{public_url.rstrip('/')}/u/{token}"


def one_click_url(settings: OneClickSettings, idempotency_key: str) -> str | None:
    """The one-click link for the contact and campaign an outbox key names, or None.

    None when `COACHGRAPH_PUBLIC_URL` is unset: the message then carries the mailto link only.

    Raises:
        ConfigError: the public URL or the secret key cannot work (`check_one_click`).
        UserError: the key does not name a campaign thread (`campaign:C:contact:X:touch:N`).
    """
    if (config := check_one_click(settings)) is None:
        return None
    public_url, secret = config
    campaign_id, contact_id = parse_thread_id(idempotency_key.rsplit(":touch:", 1)[0])
    return unsubscribe_url(public_url, token_for(contact_id, campaign_id, secret))


def check_one_click(settings: OneClickSettings) -> tuple[str, SecretStr] | None:
    """(public URL, secret key) when one-click links are on, else None (no public URL).

    Raises:
        ConfigError: `COACHGRAPH_PUBLIC_URL` without `COACHGRAPH_SECRET_KEY`, a key too short,
            or a URL that is not https (plain http only on loopback) or would break the header.
    """
    if not settings.public_url:
        return None
    if settings.secret_key is None:
        raise ConfigError(
            "COACHGRAPH_PUBLIC_URL needs COACHGRAPH_SECRET_KEY to sign unsubscribe links"
        )
    secret_bytes(settings.secret_key)
    _check_public_url(settings.public_url)
    return settings.public_url, settings.secret_key


def secret_bytes(secret: SecretStr | str) -> bytes:
    """The secret key's bytes.

    Raises:
        ConfigError: it is shorter than `MIN_SECRET_CHARS`.
    """
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if len(value) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"COACHGRAPH_SECRET_KEY must be at least {MIN_SECRET_CHARS} characters "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return value.encode("utf-8")


def _check_public_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    loopback_http = parts is not None and parts.scheme == "http" and host in _LOOPBACK_HOSTS
    if parts is None or not host or not (parts.scheme == "https" or loopback_http):
        raise ConfigError(
            f"COACHGRAPH_PUBLIC_URL {url!r} must be an https:// URL (http only on loopback)"
        )
    if _URL_FORBIDDEN.search(url) or parts.query or parts.fragment:
        raise ConfigError(
            f"COACHGRAPH_PUBLIC_URL {url!r} must have no spaces, quotes, <, >, commas, "
            "query or fragment"
        )


def _keys(secret: SecretStr | str) -> tuple[bytes, bytes]:
    """Two independent keys from the one secret: (for the IV/MAC, for the keystream)."""
    key = secret_bytes(secret)
    mac = hmac.new(key, b"coachgraph unsubscribe token: mac", hashlib.sha256).digest()
    enc = hmac.new(key, b"coachgraph unsubscribe token: encryption", hashlib.sha256).digest()
    return mac, enc


def _synthetic_iv(mac_key: bytes, plain: bytes) -> bytes:
    return hmac.new(mac_key, _VERSION + plain, hashlib.sha256).digest()[:_IV_BYTES]


def _keystream(enc_key: bytes, iv: bytes, length: int) -> bytes:
    blocks = (length + hashlib.sha256().digest_size - 1) // hashlib.sha256().digest_size
    stream = b"".join(
        hmac.new(enc_key, iv + n.to_bytes(4, "big"), hashlib.sha256).digest() for n in range(blocks)
    )
    return stream[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(token: str) -> bytes:
    """The token's bytes; only the one canonical spelling of them is accepted."""
    if len(token) > MAX_TOKEN_CHARS or not _TOKEN_CHARS.fullmatch(token):
        raise TokenError("this unsubscribe link is not valid (malformed token)")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise TokenError("this unsubscribe link is not valid (malformed token)") from None
    # Unused low bits of the last character decode the same: only the canonical form counts.
    if _b64encode(raw) != token or len(raw) < 1 + _IV_BYTES + 3 or raw[:1] != _VERSION:
        raise TokenError("this unsubscribe link is not valid (truncated or malformed token)")
    return raw
