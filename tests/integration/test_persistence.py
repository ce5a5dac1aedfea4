"""A campaign thread over every checkpointer and durability mode the product uses.

As the langgraph repository tests persistence: one flow, parametrised by fixture over
in-memory, SQLite and Postgres checkpointers, and over the durability modes a run may
take ("exit" for a tick's fresh run, "async" for runs that may send). Assertions are on
persisted state, read back through the checkpointer, and after pruning.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from checkpoints.factory import open_checkpointer
from checkpoints.prune import prune_thread
from graphs.campaign import build_campaign_graph
from nodes.campaign.schedule_next import due_at
from schemas.approval import HumanResponse
from schemas.campaign import CampaignInput
from schemas.context import Context
from schemas.values import iso
from tests.unit.fakes import T0, FakeDoor

pytestmark = pytest.mark.integration

THREAD = {"configurable": {"thread_id": "campaign:q4:contact:k1"}}
START = CampaignInput(campaign_id="q4", contact_id="k1", enrolled_at=iso(T0))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def checkpointer(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[BaseCheckpointSaver[Any]]:
    if request.param == "memory":
        yield InMemorySaver()
        return
    url = (
        f"sqlite:///{tmp_path / 'graph.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    with open_checkpointer(url) as saver:
        yield saver


@pytest.fixture(params=["exit", "async"])
def durability(request: pytest.FixtureRequest) -> Literal["exit", "async"]:
    mode: Literal["exit", "async"] = request.param
    return mode


def test_a_thread_survives_each_checkpointer_and_durability(
    checkpointer: BaseCheckpointSaver[Any], durability: Literal["exit", "async"]
) -> None:
    door = FakeDoor()
    context = Context(_env_file=None, llm_api_key=None).with_door(door.for_context)  # type: ignore[call-arg]
    store = InMemoryStore()

    def compiled() -> Any:  # a fresh process: only the checkpointer remembers
        return build_campaign_graph().compile(checkpointer=checkpointer, store=store)

    compiled().invoke(START, THREAD, context=context, durability=durability)
    waiting = compiled().get_state(THREAD)
    assert waiting.next == ("await_approval",)
    accept = HumanResponse(type="accept", args=None)

    compiled().invoke(Command(resume=[accept]), THREAD, context=context, durability=durability)

    done = compiled().get_state(THREAD)
    assert done.next == () and [t["outcome"] for t in done.values["touches"]] == ["sent"]
    assert door.transport_calls == 1
    if not isinstance(checkpointer, InMemorySaver):
        prune_thread(checkpointer, THREAD["configurable"]["thread_id"])
        kept = list(checkpointer.list(THREAD))
        roots = [c for c in kept if not c.config["configurable"]["checkpoint_ns"]]
        assert len(roots) == 1 and len(kept) <= 2  # the latest per namespace, nothing more
    assert compiled().get_state(THREAD).values == done.values  # pruning lost nothing
    door.advance(4)
    compiled().invoke(START, THREAD, context=context, durability=durability)
    second = compiled().get_state(THREAD)
    assert second.next == ("await_approval",)
    assert due_at(second.values) == T0 + timedelta(days=4)
    assert second.interrupts[0].value[0]["description"].startswith("### Touch 2 of 6")
