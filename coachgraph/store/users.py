"""Web inbox users (SPEC §17): a name and a slow, salted scrypt hash of the password."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coachgraph.store.crm import CrmStore, users, utcnow_iso
from schemas.errors import UserError

MIN_PASSWORD_CHARS = 8
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
"""scrypt cost: about 16 MiB and tens of milliseconds per hash."""
_NAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,64}$")
_DUMMY = "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 64
"""Checked against for an unknown name, so a wrong name costs as long as a wrong password."""


def add_user(crm: CrmStore, name: str, password: str) -> None:
    """Store a new user with a hash of `password`.

    Raises:
        UserError: the name is empty, malformed or taken, or the password is too short.
    """
    _check_name(name)
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password must be at least {MIN_PASSWORD_CHARS} characters")
    row = {"name": name, "password_hash": hash_password(password), "created_at": utcnow_iso()}
    try:
        with crm.connect(write=True) as conn:
            conn.execute(users.insert().values(**row))
    except (IntegrityError, UserError) as exc:
        if _exists(crm, name):
            raise UserError(f"user {name!r} already exists") from None
        raise UserError(f"could not add user {name!r}: {exc}") from None


def verify(crm: CrmStore, name: str, password: str) -> bool:
    """True when `name` exists and `password` is theirs (constant time in the password)."""
    with crm.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.name == name)).scalar()
    matches = check_password(password, stored or _DUMMY)
    return stored is not None and matches


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt_hex$hash_hex` for `password` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """True when `password` hashes to `stored`; a malformed `stored` never matches."""
    try:
        kind, n, r, p, salt, expected = stored.split("$")
        digest = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return kind == "scrypt" and hmac.compare_digest(digest, bytes.fromhex(expected))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=64
    )


def _check_name(name: str) -> None:
    if not name.strip():
        raise UserError("the user name is empty: give one, e.g. `coachgraph user add alice`")
    if not _NAME.match(name):
        raise UserError(
            f"user name {name!r} is not allowed: "
            "up to 64 characters, no spaces or control characters"
        )


def _exists(crm: CrmStore, name: str) -> bool:
    with crm.connect() as conn:
        return conn.execute(select(users.c.name).where(users.c.name == name)).first() is not None
