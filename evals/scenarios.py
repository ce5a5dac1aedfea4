"""Turn golden records into a real, throwaway CRM the graphs read, as imports would."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from checkpoints.factory import open_store, setup_graph_tables
from coachgraph.store.crm import CrmStore
from coachgraph.store.importer import import_records
from evals.datasets import Dataset
from nodes.email.recall_memory import memory_namespace, memory_value
from schemas.errors import UserError
from schemas.values import normalize_email

EVAL_NOW = "2026-03-02T09:00:00+00:00"
"""The instant every eval runs at, so "3 days since the last email" never depends on the clock."""
_KINDS = ("companies", "contacts", "facts", "suppression", "retention", "history")


def scenario_rows(record_id: str, inputs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The CRM rows one record describes, by import kind; the contact's id is the record id."""
    company = inputs.get("company") or {}
    domain = company.get("domain")
    contact = {"id": record_id, "company_domain": domain} | dict(inputs["contact"])
    rows: dict[str, list[dict[str, Any]]] = {
        "companies": [company] if domain else [],
        "contacts": [contact],
        "facts": [f | {"company_domain": domain} for f in inputs.get("facts", [])],
        "suppression": list(inputs.get("suppression", [])),
        "retention": [{"company_domain": domain, "reason": r}]
        if (r := inputs.get("retention"))
        else [],
        "history": [m | {"contact_id": record_id} for m in inputs.get("history", [])],
    }
    return rows


def load_scenarios(db_url: str, datasets: Iterable[Dataset]) -> dict[str, str]:
    """Create the CRM at `db_url` with every record's rows; map contact email → contact id.

    A row the importer rejects is a broken dataset, so it stops the run with its record id.
    """
    crm = CrmStore(db_url)
    crm.init()
    setup_graph_tables(db_url)
    by_kind: dict[str, list[tuple[int, dict[str, Any]]]] = {k: [] for k in _KINDS}
    origin: dict[tuple[str, int], str] = {}
    emails: dict[str, str] = {}
    for dataset in datasets:
        for record in dataset.records:
            if "contact" not in record.inputs:
                continue
            for kind, rows in scenario_rows(record.id, record.inputs).items():
                for row in rows:
                    number = len(by_kind[kind]) + 1
                    by_kind[kind].append((number, row))
                    origin[(kind, number)] = f"{dataset.spec.file} record {record.id!r}"
            emails[normalize_email(record.inputs["contact"]["email"])] = record.id
    for kind in _KINDS:
        report = import_records(crm, kind, kind, by_kind[kind])
        if report.rejected:
            bad = report.rejected[0]
            where = origin.get((kind, bad.row), kind)
            raise UserError(f"{where}: {kind} row rejected: field {bad.field}: {bad.message}")
    _seed_memory(db_url, datasets)
    return emails


def _seed_memory(db_url: str, datasets: Iterable[Dataset]) -> None:
    """Store what earlier touches said, for records that give a `memory`."""
    seeded = [
        (r.id, r.inputs["memory"]) for d in datasets for r in d.records if "memory" in r.inputs
    ]
    if not seeded:
        return
    with open_store(db_url) as store:
        for record_id, memory in seeded:
            value = memory_value(
                list(memory.get("facts_used", [])), list(memory.get("subjects", []))
            )
            store.put(memory_namespace(record_id), "touches", value)
