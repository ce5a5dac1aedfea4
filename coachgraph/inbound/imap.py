"""Poll one IMAP folder (SPEC §11a): new UIDs only, read with BODY.PEEK, applied one by one.

Each message's effects, its row and its UID are committed together, so a connection that
drops mid-batch loses nothing: the next poll resumes after the last message applied. A
changed UIDVALIDITY starts the folder over; Message-IDs keep a message from applying twice.
"""

from __future__ import annotations

import imaplib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from imap_tools import AND, BaseMailBox, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError, MailboxFolderSelectError, MailboxLoginError

from coachgraph.inbound.apply import Outcome, Where, apply_message
from coachgraph.inbound.classify import KINDS
from coachgraph.inbound.state import advance, mailbox_key, position, touch
from coachgraph.store.crm import CrmStore
from schemas.context import Context
from schemas.errors import UserError
from schemas.values import iso

IMAP_TIMEOUT_S = 30.0
"""Longest wait for the server to connect or answer one command."""


@dataclass(frozen=True)
class Account:
    """Where and as whom to read mail (the password never leaves this object)."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str
    tls: bool

    @property
    def address(self) -> str:
        """`host:port`, for messages."""
        return f"{self.host}:{self.port}"

    @property
    def key(self) -> str:
        """The folder's key in `inbound_state`."""
        return mailbox_key(self.user, self.host, self.folder)


def account_from(context: Context) -> Account:
    """The IMAP account the settings name.

    Raises:
        UserError: IMAP_HOST, IMAP_USER or IMAP_PASSWORD is not set.
    """
    for name, value in (
        ("IMAP_HOST", context.imap_host),
        ("IMAP_USER", context.imap_user),
        ("IMAP_PASSWORD", context.imap_password),
    ):
        if not value:
            raise UserError(f"{name} is not set: set IMAP_HOST, IMAP_USER and IMAP_PASSWORD")
    assert context.imap_host and context.imap_user and context.imap_password  # for mypy
    return Account(
        host=context.imap_host,
        port=context.imap_port,
        user=context.imap_user,
        password=context.imap_password.get_secret_value(),
        folder=context.imap_folder,
        tls=context.imap_tls,
    )


@dataclass
class PollReport:
    """What one poll read, by kind and by what became of it."""

    mailbox: str
    uid_validity: str = ""
    restarted: bool = False
    last_uid: int = 0
    read: int = 0
    kinds: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    statuses: dict[str, int] = field(default_factory=dict)
    stopped_threads: int = 0
    withdrawn_sends: int = 0

    def add(self, uid: int, outcome: Outcome) -> None:
        """Count one applied message."""
        self.read += 1
        self.last_uid = max(self.last_uid, uid)
        self.kinds[outcome.kind] += 1
        self.statuses[outcome.status] = self.statuses.get(outcome.status, 0) + 1
        self.stopped_threads += len(outcome.stopped)
        self.withdrawn_sends += sum(outcome.stopped.values())

    def as_dict(self) -> dict[str, Any]:
        """The `inbox poll --json` object."""
        tallies = {s: self.statuses.get(s, 0) for s in ("unmatched", "duplicate", "skipped")}
        return {
            "mailbox": self.mailbox,
            "uid_validity": self.uid_validity,
            "restarted": self.restarted,
            "last_uid": self.last_uid,
            "read": self.read,
            **self.kinds,
            **tallies,
            "stopped_threads": self.stopped_threads,
            "withdrawn_sends": self.withdrawn_sends,
        }


def poll(
    crm: CrmStore,
    account: Account,
    now: datetime,
    limit: int | None = None,
    timeout: float = IMAP_TIMEOUT_S,
) -> PollReport:
    """Read and apply the folder's new messages (at most `limit`), oldest first.

    Raises:
        UserError: the server cannot be reached or refuses the login, the folder does not
            exist, or the connection dropped mid-batch (what was applied stays applied).
    """
    report = PollReport(account.key)
    with session(account, timeout) as box:
        validity = _uid_validity(box, account)
        start = position(crm, account.key, validity, iso(now))
        report.uid_validity, report.restarted = validity, start.restarted
        report.last_uid = start.last_uid
        try:
            for message in fetch_new(box, start.last_uid, limit):
                where = Where(account.key, validity, int(message.uid or 0))
                _apply_one(crm, where, message, now, report)
        except (imaplib.IMAP4.error, ImapToolsError, OSError) as exc:
            raise UserError(
                f"IMAP connection to {account.address} dropped after {report.read} message(s) "
                f"({_reason(exc)}); the next poll resumes after UID {report.last_uid}"
            ) from None
    touch(crm, account.key, iso(now))
    return report


def _apply_one(
    crm: CrmStore, where: Where, message: MailMessage, now: datetime, report: PollReport
) -> None:
    """Apply one message and record its UID, in one transaction."""
    raw = raw_bytes(message)
    with crm.connect(write=True) as conn:
        outcome = apply_message(conn, where, raw, now)
        advance(conn, where.mailbox, where.uid_validity, where.uid, iso(now))
    report.add(where.uid, outcome)


def raw_bytes(message: MailMessage) -> bytes:
    """The message as bytes again (empty when it cannot be written back: it is malformed)."""
    try:
        return message.obj.as_bytes()
    except (UnicodeError, LookupError, ValueError):
        return b""


def fetch_new(box: BaseMailBox, last_uid: int, limit: int | None) -> Iterator[MailMessage]:
    """The messages above `last_uid`, oldest first, one FETCH each (BODY.PEEK: none is seen)."""
    uids = [str(u) for u in new_uids(box, last_uid, limit)]
    if uids:  # an empty uid_list would make imap-tools search ALL
        yield from box.fetch(uid_list=uids, mark_seen=False, bulk=False)


def new_uids(box: BaseMailBox, last_uid: int, limit: int | None) -> list[int]:
    """UIDs above `last_uid`, ascending (`N:*` also names the highest UID: dropped here)."""
    found = sorted(u for u in map(int, box.uids(AND(uid=f"{last_uid + 1}:*"))) if u > last_uid)
    return found[:limit] if limit is not None else found


@contextmanager
def session(account: Account, timeout: float) -> Iterator[BaseMailBox]:
    """A logged-in mailbox with the folder selected; always logged out after.

    Raises:
        UserError: unreachable server, refused login, or no such folder.
    """
    box = _login(account, timeout)
    try:
        yield box
    finally:
        with suppress(imaplib.IMAP4.error, ImapToolsError, OSError):  # a dead link: nothing to say
            box.logout()


def _login(account: Account, timeout: float) -> BaseMailBox:
    kind = MailBox if account.tls else MailBoxUnencrypted
    try:
        box = kind(account.host, account.port, timeout=timeout)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise UserError(
            f"cannot reach IMAP server {account.address} ({_reason(exc)}): check IMAP_HOST, "
            "IMAP_PORT and IMAP_TLS; nothing was read"
        ) from None
    try:
        return box.login(account.user, account.password, initial_folder=account.folder)
    except MailboxLoginError:
        raise UserError(
            f"IMAP server {account.address} refused the login of {account.user!r}: "
            "check IMAP_USER and IMAP_PASSWORD"
        ) from None
    except MailboxFolderSelectError:
        raise UserError(
            f"IMAP folder {account.folder!r} not found on {account.address}: check IMAP_FOLDER"
        ) from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise UserError(f"IMAP server {account.address} failed at login ({_reason(exc)})") from None


def _uid_validity(box: BaseMailBox, account: Account) -> str:
    status = box.folder.status(account.folder, ["UIDVALIDITY"])
    return str(status["UIDVALIDITY"])


def _reason(exc: BaseException) -> str:
    """A short reason (never the password: no command line is echoed)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
