"""Import CRM files (CSV with a header row, or a JSON list of objects), row by row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from coachgraph.crm import (
    CrmStore,
    companies,
    company_facts,
    contacts,
    retention_watch,
    suppression,
)
from coachgraph.emails import contact_id_for, email_sha256
from coachgraph.errors import UserError
from schemas.crm import (
    CompanyRow,
    ContactRow,
    FactRow,
    HistoryRow,
    RetentionRow,
    SuppressionRow,
)

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


@dataclass(frozen=True)
class RowError:
    """One rejected row: where it is, which field, and why."""

    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, field {self.field}: {self.message}"


@dataclass
class ImportReport:
    """What an import did: rows taken and rows rejected (with reasons)."""

    kind: str
    file: str
    imported: int = 0
    already_present: int = 0
    rejected: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for `--json`."""
        return {
            "kind": self.kind,
            "file": self.file,
            "imported": self.imported,
            "already_present": self.already_present,
            "rejected": [e.__dict__ for e in self.rejected],
        }


def read_records(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """Columns and (row number, record) pairs; CSV rows count the header as row 1."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path.name}: not UTF-8 (bad byte at offset {exc.start}); re-save it as UTF-8"
        ) from None
    if path.suffix.lower() == ".json":
        return _json_records(path, text)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise UserError(f"{path.name}: empty file, expected a header row")
    columns = [c.strip() for c in reader.fieldnames]

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        # Rows are numbered as in a spreadsheet (header = row 1), even when a quoted field
        # spans several lines.
        for number, row in enumerate(reader, start=2):
            extra = row.pop(None, None)
            record: dict[str, Any] = {k.strip(): v for k, v in row.items() if k is not None}
            if extra:
                record["__extra__"] = extra
            yield number, record

    return columns, rows()


def _json_records(path: Path, text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, list):
        raise UserError(f"{path.name}: expected a JSON list of objects")
    columns = sorted({k for item in data if isinstance(item, dict) for k in item})
    return columns, ((i, item) for i, item in enumerate(data, start=1))


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


def validate_records(
    kind: str, file: str, records: Iterable[tuple[int, Any]]
) -> tuple[list[tuple[int, Any]], list[RowError]]:
    """Validate every row: (row number, model) for good rows, a RowError per bad one."""
    model = ROW_MODELS[kind]
    good: list[tuple[int, Any]] = []
    bad: list[RowError] = []
    for number, record in records:
        if not isinstance(record, dict):
            bad.append(RowError(file, number, "-", "expected an object"))
            continue
        if "__extra__" in record:
            bad.append(RowError(file, number, "-", "more values than header columns"))
            continue
        try:
            good.append((number, model.model_validate(record)))
        except ValidationError as exc:
            err = exc.errors()[0]
            name = ".".join(str(p) for p in err["loc"]) or "-"
            bad.append(RowError(file, number, name, _clean(err["msg"])))
    return good, bad


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def import_file(store: CrmStore, kind: str, path: Path) -> ImportReport:
    """Validate a file and write its good rows in one transaction; report the bad ones."""
    _check_kind(kind)
    store.require_initialised()
    columns, records = read_records(path)
    check_columns(kind, path.name, columns)
    return import_records(store, kind, path.name, records)


def import_records(
    store: CrmStore, kind: str, file: str, records: Iterable[tuple[int, Any]]
) -> ImportReport:
    """Validate numbered records and write the good ones in one transaction, as files are."""
    _check_kind(kind)
    good, bad = validate_records(kind, file, records)
    report = ImportReport(kind=kind, file=file, rejected=list(bad))
    report.imported = _WRITERS[kind](store, file, good, report.rejected)
    attempted = len(good) - (len(report.rejected) - len(bad))
    report.already_present = max(0, attempted - report.imported)
    report.rejected.sort(key=lambda e: e.row)
    return report


def _check_kind(kind: str) -> None:
    if kind not in ROW_MODELS:
        raise UserError(f"unknown import kind {kind!r}: use one of {', '.join(ROW_MODELS)}")


def _dedupe(
    file: str,
    good: list[tuple[int, Any]],
    key: Callable[[Any], Any],
    label: str,
    rejected: list[RowError],
) -> list[tuple[int, Any]]:
    seen: dict[Any, int] = {}
    kept = []
    for number, row in good:
        k = key(row)
        if k in seen:
            rejected.append(RowError(file, number, label, f"duplicate of row {seen[k]}"))
            continue
        seen[k] = number
        kept.append((number, row))
    return kept


def _write_contacts(
    store: CrmStore, file: str, good: list[tuple[int, Any]], rejected: list[RowError]
) -> int:
    rows = []
    for number, row in good:
        values = row.model_dump()
        values["id"] = values["id"] or contact_id_for(row.email)
        rows.append((number, values))
    rows = _dedupe(file, rows, lambda v: v["id"], "id", rejected)
    rows = _dedupe(file, rows, lambda v: v["email"], "email", rejected)
    owners = store.contact_ids_by_email(v["email"] for _, v in rows)
    kept = []
    for number, values in rows:
        owner = owners.get(values["email"])
        if owner and owner != values["id"]:
            rejected.append(RowError(file, number, "email", f"already belongs to contact {owner}"))
            continue
        kept.append(values)
    return store.upsert(contacts, kept, ["id"])


def _write_companies(
    store: CrmStore, file: str, good: list[tuple[int, Any]], rejected: list[RowError]
) -> int:
    rows = _dedupe(file, good, lambda r: r.domain, "domain", rejected)
    return store.upsert(companies, [r.model_dump() for _, r in rows], ["domain"])


def _write_facts(
    store: CrmStore, file: str, good: list[tuple[int, Any]], rejected: list[RowError]
) -> int:
    known = store.company_domains()
    kept = []
    for number, row in good:
        if row.company_domain not in known:
            rejected.append(
                RowError(
                    file,
                    number,
                    "company_domain",
                    f"unknown company {row.company_domain!r}: import companies first",
                )
            )
            continue
        kept.append((number, row))
    kept = _dedupe(file, kept, lambda r: (r.company_domain, r.fact), "fact", rejected)
    values = [r.model_dump() for _, r in kept]
    return store.upsert(company_facts, values, ["company_domain", "fact"])


def _write_suppression(
    store: CrmStore, file: str, good: list[tuple[int, Any]], rejected: list[RowError]
) -> int:
    values = [
        (n, {"email_sha256": r.email_sha256 or email_sha256(r.email), "reason": r.reason})
        for n, r in good
    ]
    kept = _dedupe(file, values, lambda v: v["email_sha256"], "email", rejected)
    return store.upsert(suppression, [v for _, v in kept], ["email_sha256"])


def _write_retention(
    store: CrmStore, file: str, good: list[tuple[int, Any]], rejected: list[RowError]
) -> int:
    kept = _dedupe(file, good, lambda r: r.company_domain, "company_domain", rejected)
    return store.upsert(retention_watch, [r.model_dump() for _, r in kept], ["company_domain"])


def _write_history(
    store: CrmStore, file: str, good: list[tuple[int, Any]], rejected: list[RowError]
) -> int:
    kept = []
    for number, row in good:
        if store.get_contact(row.contact_id) is None:
            rejected.append(
                RowError(file, number, "contact_id", f"unknown contact {row.contact_id!r}")
            )
            continue
        kept.append(row.model_dump())
    return store.add_messages(kept)


_WRITERS: dict[str, Callable[[CrmStore, str, list[tuple[int, Any]], list[RowError]], int]] = {
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
