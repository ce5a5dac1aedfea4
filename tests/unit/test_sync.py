"""Dataset sync to LangSmith is idempotent: stable example ids, updates only on change.

LangSmith is not reachable offline, so this uses an in-memory stand-in with the client's
method names; what is under test is which examples `sync_dataset` creates and updates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from evals.datasets import Record, load_dataset, spec_for
from evals.sync import sync_dataset


@dataclass
class StoredExample:
    id: uuid.UUID
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    metadata: dict[str, Any]


@dataclass
class RemoteDataset:
    id: uuid.UUID


class InMemoryLangSmith:
    def __init__(self) -> None:
        self.datasets: dict[str, RemoteDataset] = {}
        self.examples: dict[uuid.UUID, StoredExample] = {}
        self.calls: list[str] = []

    def has_dataset(self, *, dataset_name: str) -> bool:
        return dataset_name in self.datasets

    def read_dataset(self, *, dataset_name: str) -> RemoteDataset:
        return self.datasets[dataset_name]

    def create_dataset(self, name: str, *, description: str) -> RemoteDataset:
        self.calls.append("create_dataset")
        self.datasets[name] = RemoteDataset(uuid.uuid4())
        return self.datasets[name]

    def list_examples(self, *, dataset_id: uuid.UUID) -> list[StoredExample]:
        return list(self.examples.values())

    def create_examples(self, *, dataset_id: uuid.UUID, examples: list[dict[str, Any]]) -> None:
        self.calls.append(f"create_examples:{len(examples)}")
        for e in examples:
            self.examples[e["id"]] = StoredExample(
                e["id"], e["inputs"], e["outputs"], e["metadata"]
            )

    def update_examples(self, *, dataset_id: uuid.UUID, updates: list[dict[str, Any]]) -> None:
        self.calls.append(f"update_examples:{len(updates)}")
        for e in updates:
            self.examples[e["id"]] = StoredExample(
                e["id"], e["inputs"], e["outputs"], e["metadata"]
            )


def test_a_second_sync_changes_nothing_and_an_edit_updates_one_example() -> None:
    dataset = load_dataset(spec_for("review_verdicts"))
    client: Any = InMemoryLangSmith()
    first = sync_dataset(client, dataset)
    assert (first.created, first.updated) == (len(dataset.records), 0)
    again = sync_dataset(client, dataset)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(dataset.records))
    edited: Record = dataset.records[0].model_copy(update={"metadata": {"note": "changed"}})
    changed = replace(dataset, records=[edited, *dataset.records[1:]])
    third = sync_dataset(client, changed)
    assert (third.created, third.updated) == (0, 1)
    assert client.calls == [
        "create_dataset",
        f"create_examples:{len(dataset.records)}",
        "update_examples:1",
    ]
    assert client.examples[dataset.example_id(edited)].metadata["record_id"] == edited.id
