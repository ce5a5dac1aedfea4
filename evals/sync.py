"""Sync a golden dataset to LangSmith by stable example ids, so repeated syncs change nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from langsmith import Client

from evals.datasets import Dataset


@dataclass(frozen=True)
class SyncReport:
    """What one sync did to the LangSmith copy of a dataset."""

    dataset_id: uuid.UUID
    created: int
    updated: int
    unchanged: int


def sync_dataset(client: Client, dataset: Dataset) -> SyncReport:
    """Create the dataset if missing, add new records, update changed ones; delete nothing."""
    spec = dataset.spec
    if client.has_dataset(dataset_name=spec.name):
        remote = client.read_dataset(dataset_name=spec.name)
    else:
        remote = client.create_dataset(spec.name, description=spec.description)
    existing = {ex.id: ex for ex in client.list_examples(dataset_id=remote.id)}
    created: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    for record in dataset.records:
        example_id = dataset.example_id(record)
        example = {
            "id": example_id,
            "inputs": record.inputs,
            "outputs": record.reference_outputs,
            "metadata": record.metadata | {"record_id": record.id},
        }
        have = existing.get(example_id)
        if have is None:
            created.append(example)
        elif (have.inputs, have.outputs, have.metadata) != (
            example["inputs"],
            example["outputs"],
            example["metadata"],
        ):
            updated.append(example)
    if created:
        client.create_examples(dataset_id=remote.id, examples=created)
    if updated:
        client.update_examples(dataset_id=remote.id, updates=updated)
    unchanged = len(dataset.records) - len(created) - len(updated)
    return SyncReport(remote.id, len(created), len(updated), unchanged)
