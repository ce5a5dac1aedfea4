"""Import CRM files (CSV with a header row, or a JSON list of objects), streamed in chunks."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Table

from coachgraph.store.crm import (
    CrmStore,
    companies,
    company_facts,
    contacts,
    retention_watch,
    suppression,
    utcnow_iso,
)
from coachgraph.store.retention import replace_retention
from schemas.crm import (
    CompanyRow,
    ContactRow,
    FactRow,
    HistoryRow,
    RetentionRow,
    SuppressionRow,
)
from schemas.errors import UserError
from schemas.orchestrator import CONTACT_FLAGS
from schemas.values import contact_id_for, email_sha256

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

Kind = Literal["contacts", "companies", "facts", "suppression", "retention", "history"]

ROW_MODELS: dict[str, type[BaseModel]] = {
    "contacts": ContactRow,
    "companies": CompanyRow,
    "facts": FactRow,
    "suppression": SuppressionRow,
    "retention": RetentionRow,
    "history": HistoryRow,
}
REQUIRED_COLUMNS: dict[str, list[list[str]]] = {
    "contacts": [["email"]],
    "companies": [["domain"]],
    "facts": [["company_domain"], ["fact"], ["confidence"]],
    "suppression": [["email", "email_sha256"]],
    "retention": [["company_domain"]],
    "history": [["contact_id"], ["direction"], ["at"]],
}
MULTILINE_FIELDS: dict[str, frozenset[str]] = {"history": frozenset({"body"})}
"""Fields that may hold a line break; one anywhere else means a quote went astray."""
CHUNK = 5_000
"""Rows validated and written per transaction: memory stays flat on a file of any size."""
FIELD_LIMIT = 1 << 20
"""Longest CSV field read (1 MiB). The csv module's default (128 KiB) raised a traceback."""
READ_BLOCK = 1 << 20
"""Bytes per read in the UTF-8 check."""
SUPPRESSION_SOURCE = "import"

T = TypeVar("T")
Progress = Callable[[int], None]
"""Called after each chunk with the number of rows read so far."""


@dataclass(frozen=True)
class RowError:
    """One rejected row: where it is (and which lines, when it spans several), and why."""

    file: str
    row: int
    field: str
    message: str
    lines: tuple[int, int] | None = None

    def __str__(self) -> str:
        span = f" (lines {self.lines[0]}-{self.lines[1]})" if self.lines else ""
        return f"{self.file} row {self.row}{span}, field {self.field}: {self.message}"


@dataclass(frozen=True)
class Record:
    """One input row as read: its row number, its values and, for CSV, its physical lines."""

    row: int
    values: Any
    lines: tuple[int, int] | None = None


@dataclass
class ImportReport:
    """What an import did: rows taken and rows rejected (with reasons)."""

    kind: str
    file: str
    imported: int = 0
    already_present: int = 0
    rejected: list[RowError] = field(default_factory=list)
    removed: list[str] | None = None
    """With `--replace`: the keys the file left out, now gone (None for an ordinary import)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form for `--json`."""
        data = {
            "kind": self.kind,
            "file": self.file,
            "imported": self.imported,
            "already_present": self.already_present,
            "rejected": [e.__dict__ for e in self.rejected],
        }
        return data if self.removed is None else data | {"removed": self.removed}


@contextmanager
def open_records(path: Path) -> Iterator[tuple[list[str], Iterator[Record | RowError]]]:
    """Open a file for import: its columns and its rows, read lazily.

    The whole file is checked to be UTF-8 first, so a bad byte anywhere rejects it before
    anything is written. CSV rows count the header as row 1; JSON items count from 1.

    Raises:
        UserError: the file is missing, empty, not UTF-8 or not a JSON list.
    """
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    require_utf8(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if path.suffix.lower() == ".json":
            yield _json_records(path.name, handle)
        else:
            yield _csv_records(path.name, handle)


def require_utf8(path: Path) -> None:
    """Read a file as bytes and reject it, naming the first bad byte, unless it is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    start, line = 0, 1  # file offset and line of the first byte the decoder still holds
    with path.open("rb") as handle:
        while True:
            block = handle.read(READ_BLOCK)
            data = decoder.getstate()[0] + block
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise _not_utf8(path.name, data, exc.start, start, line) from None
            if not block:
                return
            # Bytes still held are the start of one character: never a line break.
            start += len(data) - len(decoder.getstate()[0])
            line += data.count(b"\n")


def _not_utf8(file: str, data: bytes, at: int, start: int, line: int) -> UserError:
    line += data[:at].count(b"\n")
    return UserError(
        f"{file}: not UTF-8 (byte 0x{data[at]:02x} on line {line}, byte offset {start + at}); "
        "re-save it as UTF-8; nothing imported"
    )


def _json_records(file: str, handle: TextIO) -> tuple[list[str], Iterator[Record | RowError]]:
    # A JSON list is one value, so it is parsed whole; its text is read only once.
    try:
        data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise UserError(f"{file}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, list):
        raise UserError(f"{file}: expected a JSON list of objects")
    columns = sorted({k for item in data if isinstance(item, dict) for k in item})
    return columns, (Record(i, item) for i, item in enumerate(data, start=1))


def _csv_records(file: str, handle: TextIO) -> tuple[list[str], Iterator[Record | RowError]]:
    # A field over the limit (process-wide, as the csv module keeps it) is an error for its
    # row alone: the reader starts afresh on the next line. Strict mode makes a quote left
    # open at the end of the file an error instead of one silent, file-long field.
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(handle, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UserError(f"{file}: cannot read the header row ({exc}); nothing imported") from None
    if not header:
        raise UserError(f"{file}: empty file, expected a header row")
    columns = [c.strip() for c in header]
    return columns, _csv_rows(file, reader, columns)


def _csv_rows(file: str, reader: CsvReader, columns: list[str]) -> Iterator[Record | RowError]:
    # Rows are numbered as in a spreadsheet (header = row 1), even when a quoted field
    # spans several lines; blank lines are skipped and not counted.
    number = 1
    while True:
        first = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield _unreadable(file, number, (first, reader.line_num), str(exc))
            continue
        if values:
            number += 1
            yield _csv_record(file, number, (first, reader.line_num), columns, values)


def _csv_record(
    file: str, number: int, lines: tuple[int, int], columns: list[str], values: list[str]
) -> Record | RowError:
    if len(values) > len(columns):
        return _row_error(file, number, lines, "-", "more values than header columns", True)
    # A short row leaves its last columns empty, as csv.DictReader does.
    padded: list[str | None] = [*values, *[None] * (len(columns) - len(values))]
    return Record(number, dict(zip(columns, padded, strict=True)), lines)


def _unreadable(file: str, number: int, lines: tuple[int, int], reason: str) -> RowError:
    first, last = lines
    if reason == "unexpected end of data":
        message = f"unterminated quoted field from line {first} to the end of the file"
        if last > first:
            message += f"; {_lost_rows(first, last)}"
        return RowError(file, number, "-", message, lines if last > first else None)
    if reason.startswith("field larger than field limit"):
        reason = f"field longer than {FIELD_LIMIT >> 20} MiB"
    elif reason.startswith("',' expected after"):
        reason = "text after a closing quote (a quote inside a field is written as two)"
    return _row_error(file, number, lines, "-", reason, True)


def _row_error(
    file: str, number: int, lines: tuple[int, int] | None, name: str, why: str, joined: bool
) -> RowError:
    """A RowError naming the physical lines of a row that spans several.

    `joined` says the row's shape shows a quote went astray, so the lines after its first
    were other rows, swallowed into this one.
    """
    if lines is None or lines[1] == lines[0]:
        return RowError(file, number, name, why)
    first, last = lines
    if joined:
        why += f" — an unmatched quote joined lines {first}-{last} into one row; "
        why += _lost_rows(first, last)
    return RowError(file, number, name, why, lines)


def _lost_rows(first: int, last: int) -> str:
    if last == first + 1:
        return f"the row on line {last} was not imported"
    return f"rows on lines {first + 1}-{last} were not imported"


def check_columns(kind: str, file: str, columns: list[str]) -> None:
    """Reject a file whose header has unknown columns or lacks a required one."""
    model = ROW_MODELS[kind]
    known = set(model.model_fields)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise UserError(
            f"{file}: column {', '.join(map(repr, repeated))} appears more than once; "
            "nothing imported"
        )
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise UserError(
            f"{file}: unknown column {', '.join(map(repr, unknown))} for {kind} "
            f"(expected: {', '.join(model.model_fields)}); nothing imported"
        )
    for options in REQUIRED_COLUMNS[kind]:
        if not set(options) & set(columns):
            raise UserError(
                f"{file}: missing required column {' or '.join(options)!r} for {kind}; "
                "nothing imported"
            )


def validate_record(kind: str, file: str, record: Record) -> tuple[int, BaseModel] | RowError:
    """Validate one row: (row number, model) when good, a RowError when not."""
    if not isinstance(record.values, dict):
        return RowError(file, record.row, "-", "expected an object")
    try:
        return record.row, ROW_MODELS[kind].model_validate(record.values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "-"
        joined = _holds_stray_line_break(kind, record.values)
        return _row_error(file, record.row, record.lines, name, _clean(err["msg"]), joined)


def _holds_stray_line_break(kind: str, values: dict[str, Any]) -> bool:
    """Whether a one-line field holds whole lines of values: rows an open quote swallowed.

    A deliberate line break in a quoted name is rejected too, but is not called a join.
    """
    allowed = MULTILINE_FIELDS.get(kind, frozenset())
    return any(
        isinstance(v, str) and any("," in line for line in v.splitlines()[1:])
        for k, v in values.items()
        if k not in allowed
    )


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def import_file(
    store: CrmStore, kind: str, path: Path, progress: Progress | None = None
) -> ImportReport:
    """Validate a file and write its good rows, chunk by chunk; report the bad ones.

    Each chunk is one transaction, so an interrupted import keeps the chunks before it and
    can simply be run again (rows are upserted).
    """
    _check_kind(kind)
    store.require_initialised()
    with open_records(path) as (columns, records):
        check_columns(kind, path.name, columns)
        return _import(store, kind, path.name, records, progress)


REPLACEABLE = ("retention",)
"""Kinds `import --replace` can make exactly a file's rows."""


def replace_file(
    store: CrmStore, kind: str, path: Path, now: datetime, progress: Progress | None = None
) -> ImportReport:
    """Make a list exactly a file's rows in one transaction, or change nothing.

    Unlike an ordinary import, the whole file is validated before anything is written, and
    one rejected row leaves the list as it was: a list missing a row would lift a hold.

    Raises:
        UserError: `kind` cannot be replaced, or the file cannot be read.
    """
    if kind not in REPLACEABLE:
        raise UserError(
            f"--replace works only with {' or '.join(REPLACEABLE)} (not {kind}); nothing imported"
        )
    store.require_initialised()
    with open_records(path) as (columns, records):
        check_columns(kind, path.name, columns)
        job = _Job(store, ImportReport(kind=kind, file=path.name, removed=[]))
        good: list[tuple[int, Any]] = []
        for chunk in _chunks(records, CHUNK):
            good += _validated(job.report, kind, chunk)
            if progress is not None:
                progress(len(good) + len(job.report.rejected))
    kept = _dedupe(job, good, lambda r: r.company_domain, "company_domain")
    job.report.rejected.sort(key=lambda e: e.row)
    if not job.report.rejected:
        result = replace_retention(store, [r.model_dump() for _, r in kept], now)
        job.report.imported, job.report.removed = result["written"], result["removed"]
    return job.report


def import_records(
    store: CrmStore,
    kind: str,
    file: str,
    records: Iterable[tuple[int, Any]],
    progress: Progress | None = None,
) -> ImportReport:
    """Validate numbered records and write the good ones in chunks, as files are."""
    _check_kind(kind)
    return _import(store, kind, file, (Record(n, v) for n, v in records), progress)


def _check_kind(kind: str) -> None:
    if kind not in ROW_MODELS:
        raise UserError(f"unknown import kind {kind!r}: use one of {', '.join(ROW_MODELS)}")


@dataclass
class _Job:
    """One import's state across chunks: its report and the keys seen so far."""

    store: CrmStore
    report: ImportReport
    seen: dict[str, dict[Any, int]] = field(default_factory=dict)
    known_companies: set[str] | None = None
    known_contacts: dict[str, bool] = field(default_factory=dict)

    def reject(self, row: int, name: str, message: str) -> None:
        """Record a row the writer refused."""
        self.report.rejected.append(RowError(self.report.file, row, name, message))


def _import(
    store: CrmStore,
    kind: str,
    file: str,
    records: Iterable[Record | RowError],
    progress: Progress | None,
) -> ImportReport:
    job = _Job(store, ImportReport(kind=kind, file=file))
    done = 0
    for chunk in _chunks(records, CHUNK):
        _import_chunk(job, kind, chunk)
        done += len(chunk)
        if progress is not None:
            progress(done)
    job.report.rejected.sort(key=lambda e: e.row)
    return job.report


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _validated(
    report: ImportReport, kind: str, chunk: list[Record | RowError]
) -> list[tuple[int, Any]]:
    """The chunk's valid rows; the others go to the report as rejected."""
    good: list[tuple[int, Any]] = []
    for item in chunk:
        result = item if isinstance(item, RowError) else validate_record(kind, report.file, item)
        if isinstance(result, RowError):
            report.rejected.append(result)
        else:
            good.append(result)
    return good


def _import_chunk(job: _Job, kind: str, chunk: list[Record | RowError]) -> None:
    report = job.report
    good = _validated(report, kind, chunk)
    refused = len(report.rejected)
    written = _WRITERS[kind](job, good)
    attempted = len(good) - (len(report.rejected) - refused)
    report.imported += written
    report.already_present += max(0, attempted - written)


def _named(row: BaseModel) -> dict[str, Any]:
    """The row's values for the columns its file names (a CSV header, a JSON object's keys)."""
    return row.model_dump(include=row.model_fields_set)


def _upsert(
    job: _Job,
    table: Table,
    rows: list[dict[str, Any]],
    keys: list[str],
    sticky: Sequence[str] = (),
) -> int:
    """Upsert rows grouped by the columns they name: one statement writes one set of columns."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    return sum(job.store.upsert(table, g, keys, sticky=sticky) for g in groups.values())


def _dedupe(
    job: _Job, rows: list[tuple[int, T]], key: Callable[[T], Any], label: str
) -> list[tuple[int, T]]:
    seen = job.seen.setdefault(label, {})
    kept = []
    for number, row in rows:
        k = key(row)
        if k in seen:
            job.reject(number, label, f"duplicate of row {seen[k]}")
            continue
        seen[k] = number
        kept.append((number, row))
    return kept


def _write_contacts(job: _Job, good: list[tuple[int, Any]]) -> int:
    rows = [(n, _named(r) | {"id": r.id or contact_id_for(r.email)}) for n, r in good]
    rows = _dedupe(job, rows, lambda v: v["id"], "id")
    rows = _dedupe(job, rows, lambda v: v["email"], "email")
    owners = job.store.contact_ids_by_email(v["email"] for _, v in rows)
    kept = []
    for number, values in rows:
        owner = owners.get(values["email"])
        if owner and owner != values["id"]:
            job.reject(number, "email", f"already belongs to contact {owner}")
            continue
        kept.append(values)
    return _upsert(job, contacts, kept, ["id"], sticky=CONTACT_FLAGS)


def _write_companies(job: _Job, good: list[tuple[int, Any]]) -> int:
    rows = _dedupe(job, good, lambda r: r.domain, "domain")
    return _upsert(job, companies, [_named(r) for _, r in rows], ["domain"])


def _write_facts(job: _Job, good: list[tuple[int, Any]]) -> int:
    if job.known_companies is None:
        job.known_companies = job.store.company_domains()
    kept = []
    for number, row in good:
        if row.company_domain not in job.known_companies:
            message = f"unknown company {row.company_domain!r}: import companies first"
            job.reject(number, "company_domain", message)
            continue
        kept.append((number, row))
    kept = _dedupe(job, kept, lambda r: (r.company_domain, r.fact), "fact")
    return _upsert(job, company_facts, [_named(r) for _, r in kept], ["company_domain", "fact"])


def _write_suppression(job: _Job, good: list[tuple[int, Any]]) -> int:
    # Suppression only grows: an address already listed keeps its first reason and instant.
    new = {"at": utcnow_iso(), "source": SUPPRESSION_SOURCE}
    values = [
        (n, {"email_sha256": r.email_sha256 or email_sha256(r.email), "reason": r.reason} | new)
        for n, r in good
    ]
    kept = _dedupe(job, values, lambda v: v["email_sha256"], "email")
    return job.store.upsert(suppression, [v for _, v in kept], ["email_sha256"], update=False)


def _write_retention(job: _Job, good: list[tuple[int, Any]]) -> int:
    kept = _dedupe(job, good, lambda r: r.company_domain, "company_domain")
    return _upsert(job, retention_watch, [_named(r) for _, r in kept], ["company_domain"])


def _write_history(job: _Job, good: list[tuple[int, Any]]) -> int:
    # History is only ever added to, so every row carries every column.
    kept = []
    for number, row in good:
        if not _contact_exists(job, row.contact_id):
            job.reject(number, "contact_id", f"unknown contact {row.contact_id!r}")
            continue
        kept.append(row.model_dump())
    return job.store.add_messages(kept)


def _contact_exists(job: _Job, contact_id: str) -> bool:
    if contact_id not in job.known_contacts:
        job.known_contacts[contact_id] = job.store.get_contact(contact_id) is not None
    return job.known_contacts[contact_id]


_WRITERS: dict[str, Callable[[_Job, list[tuple[int, Any]]], int]] = {
    "contacts": _write_contacts,
    "companies": _write_companies,
    "facts": _write_facts,
    "suppression": _write_suppression,
    "retention": _write_retention,
    "history": _write_history,
}

DEMO_FILES: list[tuple[str, str]] = [
    ("companies", "companies.csv"),
    ("contacts", "contacts.csv"),
    ("facts", "facts.csv"),
    ("suppression", "suppression.csv"),
    ("retention", "retention.csv"),
    ("history", "history.csv"),
]
