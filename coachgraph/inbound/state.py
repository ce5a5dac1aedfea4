"""Where each IMAP folder's polling stopped: its UIDVALIDITY and the last UID applied."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from coachgraph.store.crm import CrmStore, inbound_state


@dataclass(frozen=True)
class Position:
    """A folder's UIDVALIDITY and the highest UID whose message is applied."""

    uid_validity: str
    last_uid: int
    restarted: bool = False
    """True when the server's UIDVALIDITY changed and reading starts over."""


def mailbox_key(user: str, host: str, folder: str) -> str:
    """The `inbound_state` key of one folder: `user@host/folder`."""
    return f"{user}@{host}/{folder}"


def position(crm: CrmStore, key: str, uid_validity: str, at: str) -> Position:
    """The folder's position under the server's UIDVALIDITY, recorded before any reading.

    A folder seen for the first time, or whose UIDVALIDITY changed (its UIDs were
    renumbered), starts from UID 0; Message-IDs keep a renumbered message from being
    applied twice.
    """
    with crm.connect(write=True) as conn:
        row = conn.execute(select(inbound_state).where(inbound_state.c.mailbox == key)).first()
        if row is not None and row.uid_validity == uid_validity:
            return Position(uid_validity, int(row.last_uid or 0))
        values = {"uid_validity": uid_validity, "last_uid": 0, "polled_at": at}
        if row is None:
            conn.execute(inbound_state.insert().values(mailbox=key, **values))
        else:
            mine = inbound_state.c.mailbox == key
            conn.execute(inbound_state.update().where(mine).values(values))
    return Position(uid_validity, 0, restarted=row is not None)


def advance(conn: Connection, key: str, uid_validity: str, uid: int, at: str) -> None:
    """Record `uid` as applied, in the transaction that applied it (never moving back)."""
    conn.execute(
        inbound_state.update()
        .where(
            inbound_state.c.mailbox == key,
            inbound_state.c.uid_validity == uid_validity,
            inbound_state.c.last_uid < uid,
        )
        .values(last_uid=uid, polled_at=at)
    )


def touch(crm: CrmStore, key: str, at: str) -> None:
    """Note when the folder was last polled (also when nothing was new)."""
    with crm.connect(write=True) as conn:
        conn.execute(
            inbound_state.update().where(inbound_state.c.mailbox == key).values(polled_at=at)
        )
