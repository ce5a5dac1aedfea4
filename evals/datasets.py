"""The golden datasets: JSONL files under `datasets/`, one record per line, stable ids."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.errors import UserError

DATASETS_DIR = Path(__file__).parent / "datasets"
ID_NAMESPACE = uuid.UUID("5b0c7c43-3f0e-4f3a-9a61-2f1f0d6c9e11")
"""Fixed namespace: a record's LangSmith example id is uuid5(namespace, dataset:record id)."""

Kind = Literal[
    "final_response",
    "sequence",
    "reply",
    "plan_coercion",
    "role_plan_repair",
    "review_verdicts",
    "paths",
]
GRAPH_KINDS: tuple[Kind, ...] = ("final_response", "sequence", "reply", "paths")
"""Kinds whose records run the email orchestrator against a scenario CRM."""


@dataclass(frozen=True)
class DatasetSpec:
    """One prompt path's golden set: its LangSmith name, file and what it evaluates."""

    name: str
    """LangSmith dataset name, e.g. `agentic-sales:campaign:final_response`."""
    file: str
    """File name under the datasets directory."""
    kind: Kind
    """Which target and evaluators run it."""
    description: str
    gated: bool = True
    """Whether `load_datasets()` (every set: CI's golden test, `coachgraph eval`) includes it.
    A set whose behaviour is still being built stays out until the composer clears it; it
    runs by name (`coachgraph eval --dataset sequences`)."""


SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        "agentic-sales:campaign:final_response",
        "campaign_final_response.jsonl",
        "final_response",
        "A campaign touch (contact, company, facts, history, plan, touch) → the final email.",
    ),
    DatasetSpec(
        "agentic-sales:coach:plan_coercion",
        "coach_plan_coercion.jsonl",
        "plan_coercion",
        "A raw coach answer → the plan coerce_coach_plan must return (or null).",
    ),
    DatasetSpec(
        "agentic-sales:orchestrator:role_plan_repair",
        "role_plan_repair.jsonl",
        "role_plan_repair",
        "A raw role-plan answer → the repaired roles and where they came from.",
    ),
    DatasetSpec(
        "agentic-sales:orchestrator:review_verdicts",
        "review_verdicts.jsonl",
        "review_verdicts",
        "A draft → the reviewer's verdict and notes.",
    ),
    DatasetSpec(
        "agentic-sales:orchestrator:node_paths",
        "orchestrator_node_paths.jsonl",
        "paths",
        "A CRM scenario → the orchestrator's action, block reason and node path.",
    ),
    DatasetSpec(
        "agentic-sales:campaign:sequences",
        "campaign_sequences.jsonl",
        "sequence",
        "One contact's whole sequence (touches 1–6, each sent before the next) → six emails, "
        "each new and each doing its position's job.",
    ),
    DatasetSpec(
        "agentic-sales:orchestrator:replies",
        "orchestrator_replies.jsonl",
        "reply",
        "An inbound of each intent, in several languages → a reply that answers it, in its "
        "language, or no reply at all (opt-out, out-of-office).",
    ),
)
"""Every golden set. Record shapes, beyond `id`, `inputs`, `reference_outputs`, `metadata`:

- final_response: inputs `contact`, `company`, `facts`, `history`, `plan`, `touch`, `offer`
  (and `memory` of earlier touches); reference `action`, `facts_allowed`, `must_not_claim`,
  `length`, `personalisation`, `call_to_action`, `unsubscribe_line`, `tone`, `angle`.
- sequence: the same inputs without `touch` and `history` (optional `touches`, default 6);
  the target drafts touch 1, records it as sent (history and memory), then touch 2, and so on.
  Its outputs are `touches: [{touch, action, subject, body, facts_used, composer,
  review_passed}]`; reference `action: "compose"` (for every touch) and `must_not_claim`.
- reply: final_response inputs whose `history` ends with an inbound (`direction: "in"`);
  reference `action` ("reply", or "skip" when the right outcome is no email: opt-out,
  out-of-office), `intent` (one of `evals.reply_checks.INTENTS`), `language` (ISO 639-1 of
  the inbound, for reading), and per intent `asks_about` (the named things a question asks
  about), `timing` (the term a "not now" names) or `referral` (the person referred to).
  Outputs add `needs_attention`: the run handed the reply to a person.
"""
GATED: tuple[DatasetSpec, ...] = tuple(s for s in SPECS if s.gated)
"""The sets CI's golden test and the release gate hold at 0.80 (SPEC §14)."""
_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,79}")


class Record(BaseModel):
    """One golden example."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable id, unique within its dataset.")
    inputs: dict[str, Any]
    reference_outputs: dict[str, Any]
    metadata: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: its spec, records in file order, and a digest of the file."""

    spec: DatasetSpec
    records: list[Record]
    digest: str
    """First 12 hex digits of the file's SHA-256: the version an experiment ran against."""

    def example_id(self, record: Record) -> uuid.UUID:
        """The record's LangSmith example id, the same on every machine and run."""
        return uuid.uuid5(ID_NAMESPACE, f"{self.spec.name}:{record.id}")


def spec_for(name: str) -> DatasetSpec:
    """The spec named by its full name, its last segment, or its file name."""
    for spec in SPECS:
        if name in (spec.name, spec.name.rsplit(":", 1)[-1], spec.file, spec.file[:-6]):
            return spec
    known = ", ".join(s.name.rsplit(":", 1)[-1] for s in SPECS)
    raise UserError(f"unknown dataset {name!r}: use one of {known}")


def load_dataset(spec: DatasetSpec, directory: Path | None = None) -> Dataset:
    """Read and check one dataset file; any bad line is a one-line error naming it."""
    path = (directory or DATASETS_DIR) / spec.file
    if not path.is_file():
        raise UserError(f"{path}: no such dataset file")
    raw = path.read_bytes()
    records: list[Record] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = _parse_line(path, number, line)
        if record.id in seen:
            raise UserError(
                f"{path.name} line {number}: id {record.id!r} repeats line {seen[record.id]}"
            )
        seen[record.id] = number
        records.append(record)
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return Dataset(spec=spec, records=records, digest=digest)


def load_datasets(names: list[str] | None = None, directory: Path | None = None) -> list[Dataset]:
    """The named datasets (every gated one when none are named), in the order of `SPECS`."""
    wanted = {spec_for(n).name for n in names} if names else {s.name for s in GATED}
    return [load_dataset(s, directory) for s in SPECS if s.name in wanted]


def _parse_line(path: Path, number: int, line: str) -> Record:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path.name} line {number}: not JSON ({exc.msg})") from None
    try:
        record = Record.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "record"
        raise UserError(f"{path.name} line {number}, field {where}: {err['msg']}") from None
    if not _ID.fullmatch(record.id):
        raise UserError(
            f"{path.name} line {number}: id {record.id!r} must be lower-case letters, digits, "
            "'.', '_' or '-'"
        )
    return record
