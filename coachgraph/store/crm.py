"""The CRM store: contacts, companies, facts, suppression, history and campaign tables."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from checkpoints.database import DbTimeouts, redact_url, sqlite_path
from coachgraph.store.engine import db_timeouts, engine_for
from schemas.crm import (
    MAX_FACTS,
    CompanyRecord,
    ContactRecord,
    FactRecord,
    MessageRecord,
)
from schemas.door import Standing
from schemas.errors import UserError
from schemas.orchestrator import CONTACT_FLAGS
from schemas.values import email_sha256, suppression_hashes

SCHEMA_VERSION = 7
CHUNK_ROWS = 500
"""Values per IN list: far below SQLite's and Postgres's bound-parameter limits."""

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

companies = Table(
    "companies",
    metadata,
    Column("domain", String(255), primary_key=True),
    Column("name", Text),
    Column("industry", Text),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("title", Text),
    Column("company_domain", String(255), index=True),
    Column("timezone", String(64)),
    Column("do_not_contact", Boolean, nullable=False, default=False),
    Column("bounced", Boolean, nullable=False, default=False),
    Column("unsubscribed", Boolean, nullable=False, default=False),
    Column("replied", Boolean, nullable=False, default=False),
)

company_facts = Table(
    "company_facts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("company_domain", String(255), nullable=False),
    Column("fact", Text, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("source", Text),
    UniqueConstraint("company_domain", "fact", name="uq_company_fact"),
    Index("ix_facts_by_confidence", "company_domain", "confidence"),
)

suppression = Table(
    "suppression",
    metadata,
    Column("email_sha256", String(64), primary_key=True),
    Column("reason", Text),
    Column("at", String(40)),
    Column("source", String(64)),
)
"""Blocked addresses by hash. Imports only add rows; `suppression lift` alone removes one."""

retention_watch = Table(
    "retention_watch",
    metadata,
    Column("company_domain", String(255), primary_key=True),
    Column("reason", Text),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact_id", String(64), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("subject", Text),
    Column("body", Text, nullable=False, default=""),
    Column("at", String(40), nullable=False),
    Column("thread_id", String(255)),
    Column("message_id", String(255), nullable=False, unique=True),
    Index("ix_messages_contact_at", "contact_id", "at"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("offer", Text, nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("sender_email", String(320), nullable=False),
    Column("settings", Text, nullable=False, default="{}"),
    Column("created_at", String(40), nullable=False),
    Column("status", String(16), default="active"),
)
"""A campaign's `status` is `active` or `paused` (ticks pass a paused campaign by)."""

enrollments = Table(
    "enrollments",
    metadata,
    Column("thread_id", String(255), primary_key=True),
    Column("campaign_id", String(64), nullable=False),
    Column("contact_id", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("next_due_at", String(40)),
    Column("touches_sent", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("stop_reason", Text),
    Column("lease_owner", String(255)),
    Column("lease_expires_at", String(40)),
    Column("enrolled_at", String(40), nullable=False),
    Column("plan", Text),
    Column("updated_at", String(40)),
    Column("pending_decision", Text),
    Column("last_report", Text),
    UniqueConstraint("campaign_id", "contact_id", name="uq_enrollment"),
    Index("ix_enrollments_due", "status", "next_due_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("idempotency_key", String(255), primary_key=True),
    Column("thread_id", String(255), nullable=False),
    Column("touch", Integer, nullable=False),
    Column("to_email", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("sent_at", String(40)),
    Column("created_at", String(40), nullable=False),
    Column("mailbox", String(320)),
    Column("scheduled_for", String(40)),
    Index("ix_outbox_scheduled", "status", "scheduled_for"),
)
"""One row per (thread, touch). `scheduled`: approved, waiting for the contact's send window
or the mailbox's cap and pacing (`scheduled_for` says until when)."""

mailboxes = Table(
    "mailboxes",
    metadata,
    Column("mailbox", String(320), primary_key=True),
    Column("day", String(10)),
    Column("sent_on_day", Integer, nullable=False, default=0),
    Column("next_free_at", String(40)),
)
"""Per sender mailbox: sends on its current day and when the next may go (cap and pacing).
A send reserves its slot by updating this row, so concurrent ticks and workers serialise."""

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seat", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("author", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("decided_at", String(40)),
    Column("gate_report", Text),
    Index("ix_prompt_versions_seat", "seat", "id"),
)
"""Governed prompt updates (SPEC §14): every proposal for a seat's instructions, whether the
gate promoted it (`current`, `superseded`, `rolled_back`) or not (`refused`), with who, why
and when (see `coachgraph.store.prompts`)."""

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)
"""People who sign in to the web inbox (SPEC §17): `coachgraph user add NAME`. Only a slow
hash of the password is kept (`coachgraph.store.users`)."""

inbound_state = Table(
    "inbound_state",
    metadata,
    Column("mailbox", String(400), primary_key=True),
    Column("uid_validity", String(32)),
    Column("last_uid", Integer, nullable=False, default=0),
    Column("polled_at", String(40)),
)
"""Where each IMAP folder's last poll stopped (`user@host/folder`): UIDs above `last_uid`."""

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mailbox", String(400), nullable=False),
    Column("uid_validity", String(32), nullable=False),
    Column("uid", Integer, nullable=False),
    Column("message_id", String(998)),
    Column("from_email", String(320)),
    Column("subject", Text),
    Column("received_at", String(40), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("contact_id", String(64)),
    Column("thread_id", String(255)),
    Column("status", String(16), nullable=False),
    Column("detail", Text),
    UniqueConstraint("mailbox", "uid_validity", "uid", name="uq_inbound_uid"),
    Index("ix_inbound_status", "status"),
)
"""Every message a poll read, once: its classification, what it matched, what was done.
`unmatched` rows wait for a person (`coachgraph attention`)."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("sender", String(255), nullable=False),
    Column("receiver", String(255), nullable=False),
    Column("type", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("metadata", Text, nullable=False, default="{}"),
    Column("thread_id", String(255), index=True),
    Column("campaign_id", String(64), index=True),
)

_CONTACT_COLS = [c.name for c in contacts.columns]


def history_id(row: Mapping[str, Any]) -> str:
    """A stable id for a history message that has no Message-ID of its own."""
    parts = [str(row.get(k) or "") for k in ("contact_id", "direction", "at", "subject", "body")]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"<history-{digest}@coachgraph.local>"


def utcnow_iso() -> str:
    """The clock as an ISO string (UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class CrmStore:
    """Reads and writes the CRM tables through one SQLAlchemy engine."""

    def __init__(
        self, db_url: str, engine: Engine | None = None, timeouts: DbTimeouts | None = None
    ) -> None:
        self.db_url = db_url
        self.timeouts = timeouts or db_timeouts()
        """Postgres connect and statement bounds (the settings' unless given)."""
        self.engine = engine or engine_for(db_url, self.timeouts)

    @contextmanager
    def connect(self, write: bool = False) -> Iterator[Connection]:
        """A connection (a transaction when writing), with database errors made readable."""
        from sqlalchemy.exc import TimeoutError as PoolTimeoutError  # an exhausted pool

        try:
            with self.engine.begin() if write else self.engine.connect() as conn:
                yield conn
        except (DBAPIError, PoolTimeoutError) as exc:
            raise UserError(self._describe(exc)) from None

    def _describe(self, exc: SQLAlchemyError) -> str:
        from checkpoints.database import describe_unavailable

        if (unavailable := describe_unavailable(self.db_url, exc, self.timeouts)) is not None:
            return unavailable
        text = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        where = redact_url(self.db_url)
        if "locked" in text:
            return f"database {where} is locked by another process ({text}); try again"
        if "no such table" in text or ("does not exist" in text and "relation" in text):
            return f"database {where} is not initialised ({text}): run `coachgraph init`"
        return f"cannot use database {where}: {text}"

    def init(self) -> int:
        """Create or migrate every table; idempotent. Returns the schema version."""
        if (path := sqlite_path(self.db_url)) is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"cannot create {path.parent}: {exc.strerror}") from None
        with self.connect(write=True) as conn:
            metadata.create_all(conn)
            current = conn.execute(select(schema_version.c.version)).scalar()
            if current is None:
                conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
            elif current > SCHEMA_VERSION:
                raise UserError(
                    f"database schema version {current} is newer than this coachgraph "
                    f"({SCHEMA_VERSION}): upgrade coachgraph"
                )
            elif current < SCHEMA_VERSION:
                _add_missing_columns(conn)
                conn.execute(schema_version.update().values(version=SCHEMA_VERSION))
        return SCHEMA_VERSION

    def require_initialised(self) -> None:
        """Fail with a clear message when `coachgraph init` has not run."""
        path = sqlite_path(self.db_url)
        if path is not None and not path.is_file():
            raise UserError(f"no database at {path}: run `coachgraph init` (COACHGRAPH_DB)")
        with self.connect() as conn:
            missing = [t for t in metadata.tables if not inspect(conn).has_table(t)]
        if "schema_version" not in missing:  # an older coachgraph's database: migrate it
            self._require_current_schema()
        if missing:
            raise UserError(
                f"database {redact_url(self.db_url)} is not initialised "
                f"(missing tables: {', '.join(sorted(missing))}): run `coachgraph init`"
            )

    def _require_current_schema(self) -> None:
        with self.connect() as conn:
            version = conn.execute(select(schema_version.c.version)).scalar()
        if version is not None and version < SCHEMA_VERSION:
            raise UserError(
                f"database {redact_url(self.db_url)} has schema version {version}, this "
                f"coachgraph needs {SCHEMA_VERSION}: run `coachgraph init` to migrate it"
            )

    # -- reads -------------------------------------------------------------

    def get_contact(self, contact_id: str) -> ContactRecord | None:
        """One contact by id."""
        with self.connect() as conn:
            row = conn.execute(select(contacts).where(contacts.c.id == contact_id)).first()
        return cast(ContactRecord, dict(row._mapping)) if row else None

    def list_contacts(self) -> list[ContactRecord]:
        """Every contact, by id."""
        with self.connect() as conn:
            rows = conn.execute(select(contacts).order_by(contacts.c.id)).all()
        return [cast(ContactRecord, dict(r._mapping)) for r in rows]

    def get_company(self, domain: str | None) -> CompanyRecord | None:
        """One company by domain."""
        if not domain:
            return None
        with self.connect() as conn:
            row = conn.execute(select(companies).where(companies.c.domain == domain)).first()
        return cast(CompanyRecord, dict(row._mapping)) if row else None

    def company_domains(self) -> set[str]:
        """Every known company domain."""
        with self.connect() as conn:
            return set(conn.execute(select(companies.c.domain)).scalars())

    def top_facts(self, domain: str | None, limit: int = MAX_FACTS) -> list[FactRecord]:
        """Up to `limit` facts for a company, highest confidence first (ties by age)."""
        if not domain:
            return []
        query = (
            select(company_facts.c.fact, company_facts.c.confidence, company_facts.c.source)
            .where(company_facts.c.company_domain == domain)
            .order_by(company_facts.c.confidence.desc(), company_facts.c.id)
            .limit(limit)
        )
        with self.connect() as conn:
            return [cast(FactRecord, dict(r._mapping)) for r in conn.execute(query)]

    def history(self, contact_id: str, limit: int = 20) -> list[MessageRecord]:
        """The latest `limit` messages with a contact, oldest first."""
        query = (
            select(messages.c.direction, messages.c.subject, messages.c.body, messages.c.at)
            .where(messages.c.contact_id == contact_id)
            .order_by(messages.c.at.desc(), messages.c.id.desc())
            .limit(limit)
        )
        with self.connect() as conn:
            rows = [cast(MessageRecord, dict(r._mapping)) for r in conn.execute(query)]
        return rows[::-1]

    def suppression_reason(self, email: str) -> str | None:
        """Why an address is suppressed, or None (see `_suppression`)."""
        with self.connect() as conn:
            return _suppression(conn, email)

    def standing(self, contact_id: str, address: str | None = None) -> Standing:
        """The contact, its suppression and its company's retention hold, in one read.

        With `address`, also whether that address (a draft's recipient) is suppressed.
        """
        with self.connect() as conn:
            row = conn.execute(select(contacts).where(contacts.c.id == contact_id)).first()
            contact = cast(ContactRecord, dict(row._mapping)) if row else None
            standing = _standing(conn, contact)
            if address is None:
                return standing
            return replace(standing, address_suppression=_suppression(conn, address))

    def block_reasons(self, contact: ContactRecord) -> Standing:
        """The suppression and retention reasons for a contact already loaded, in one read."""
        with self.connect() as conn:
            return _standing(conn, contact)

    def suppressed_hashes(self, hashes: Iterable[str]) -> dict[str, str]:
        """Of the given hashes, the suppressed ones with their reasons."""
        wanted = list(set(hashes))
        found: dict[str, str] = {}
        with self.connect() as conn:
            for start in range(0, len(wanted), CHUNK_ROWS):
                query = select(suppression.c.email_sha256, suppression.c.reason).where(
                    suppression.c.email_sha256.in_(wanted[start : start + CHUNK_ROWS])
                )
                found |= {r.email_sha256: r.reason or "suppressed" for r in conn.execute(query)}
        return found

    def retention_reason(self, domain: str | None) -> str | None:
        """Why a company is on the retention watch list, or None."""
        with self.connect() as conn:
            return _retention(conn, domain)

    def contact_ids_by_email(self, emails: Iterable[str]) -> dict[str, str]:
        """Map each known email to its contact id (queried in chunks, for any number)."""
        wanted = list(set(emails))
        found: dict[str, str] = {}
        with self.connect() as conn:
            for start in range(0, len(wanted), CHUNK_ROWS):
                chunk = wanted[start : start + CHUNK_ROWS]
                query = select(contacts.c.email, contacts.c.id).where(contacts.c.email.in_(chunk))
                found |= {r.email: r.id for r in conn.execute(query)}
        return found

    # -- writes ------------------------------------------------------------

    def upsert(
        self,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        keys: list[str],
        update: bool = True,
        sticky: Sequence[str] = (),
    ) -> int:
        """Insert rows, updating (or with `update=False` keeping) rows that already exist.

        Only the columns the rows name are written. A `sticky` boolean column can be set by
        an update but never cleared (a block an import adds stays). All rows go in one
        transaction and must name the same columns. Returns how many rows were
        written (with `update=False`, rows already present are not counted).
        """
        if not rows:
            return 0
        with self.connect(write=True) as conn:
            dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
            stmt = dialect.insert(table)
            updates = {
                c: or_(table.c[c], stmt.excluded[c]) if c in sticky else stmt.excluded[c]
                for c in rows[0]
                if c not in keys and update
            }
            if updates:
                stmt = stmt.on_conflict_do_update(index_elements=keys, set_=updates)
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=keys)
            # Many rows in one execute: SQLAlchemy batches them into multi-row INSERTs
            # ("insertmanyvalues"), far below either backend's bound-parameter limit, and
            # RETURNING counts real writes on both (rowcount is -1 on some).
            written = len(conn.execute(stmt.returning(table.c[keys[0]]), list(rows)).all())
        return written

    def add_messages(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Append history messages; one already recorded (same message id) stays.

        Sent messages carry their Message-ID; others get an id derived from their content,
        so re-importing a history file adds nothing, yet two messages in one second don't
        collapse into one.
        """
        keyed = [dict(r) | {"message_id": r.get("message_id") or history_id(r)} for r in rows]
        return self.upsert(messages, keyed, ["message_id"], update=False)

    def get_campaign(self, campaign_id: str) -> dict[str, Any] | None:
        """One campaign by id."""
        with self.connect() as conn:
            row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
        return dict(row._mapping) if row else None

    def suppress(self, email: str, reason: str, *, source: str, at: str) -> bool:
        """Add an address to the suppression list; one already there keeps its first entry.

        Returns True when the address was newly suppressed.
        """
        row = {"email_sha256": email_sha256(email), "reason": reason, "source": source, "at": at}
        return self.upsert(suppression, [row], ["email_sha256"], update=False) == 1

    def set_contact_flags(self, contact_id: str, **flags: bool) -> None:
        """Set do_not_contact / bounced / unsubscribed / replied on one contact."""
        unknown = set(flags) - set(CONTACT_FLAGS)
        if unknown:
            raise ValueError(f"not contact flags: {sorted(unknown)}")
        with self.connect(write=True) as conn:
            conn.execute(contacts.update().where(contacts.c.id == contact_id).values(**flags))


def _suppression(conn: Connection, email: str) -> str | None:
    """Why an address is suppressed, or None.

    The address matches by the hash of its normalised form and of that form without a
    `+tag`, so `dan+promo@…` is blocked when `dan@…` is.
    """
    query = select(suppression.c.reason).where(
        suppression.c.email_sha256.in_(suppression_hashes(email))
    )
    row = conn.execute(query.order_by(suppression.c.email_sha256)).first()
    return (row.reason or "suppressed") if row else None


def _retention(conn: Connection, domain: str | None) -> str | None:
    if not domain:
        return None
    query = select(retention_watch.c.reason).where(retention_watch.c.company_domain == domain)
    row = conn.execute(query).first()
    return (row.reason or "on the retention watch list") if row else None


def _standing(conn: Connection, contact: ContactRecord | None) -> Standing:
    if contact is None:
        return Standing(contact=None, suppression=None, retention=None)
    return Standing(
        contact=contact,
        suppression=_suppression(conn, contact["email"]),
        retention=_retention(conn, contact["company_domain"]),
    )


def _add_missing_columns(conn: Connection) -> None:
    """Migrate an older database: add every column this schema has and its tables lack."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    ops = Operations(MigrationContext.configure(conn))
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                # Added columns are nullable: rows written before them have no value.
                ops.add_column(table.name, Column(column.name, column.type, nullable=True))
