"""The graphs as a LangGraph server serves them (`langgraph dev`, LangGraph Studio, Agent Inbox).

`langgraph.json` names the two factories below. The server adds its own checkpointer, store
and thread ids (UUIDs): the graphs take their identity from state (campaign and contact
ids), never from the thread id, so they run on any thread the server makes. What the
server path adds to the plain builders, and nothing else:

- a run's context is filled in from the environment (`schemas.context.run_context`): no
  context, or part of one, never means the built-in defaults;
- runs reach coachgraph's database, transport and model through the runner's door;
- Agent Inbox's "Mark as resolved" skips the waiting touch (see `ServerCampaignGraph`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.constants import END
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from coachgraph.runner.door import CrmDoor
from graphs.campaign import build_campaign_graph
from graphs.email_orchestrator import build_email_orchestrator
from nodes.campaign.await_approval import resolved_response
from schemas.campaign import CampaignInput, CampaignState
from schemas.context import Context, run_context
from schemas.door import install_default_door
from schemas.orchestrator import OrchestratorInput, OrchestratorOutput, OrchestratorState


class ServerGraph(CompiledStateGraph[Any, Context, Any, Any]):
    """A compiled graph whose runs fill their context from the environment.

    The server hands `stream`/`astream` the context it was sent (a dict, often empty or
    partial, Agent Inbox sends none); `run_context` lays it over the environment before
    LangGraph builds the run's `Context`, so unset fields and nulls take the env's values.
    """

    def get_context_jsonschema(self) -> dict[str, Any] | None:
        """The context's JSON schema without the built-in defaults.

        A form built from the schema (Studio's context form) would offer the built-in defaults
        and send them back as if someone chose them (`COACHGRAPH_DB` =
        `./.coachgraph/coachgraph.db`: "not initialised"); without them an untouched field
        stays unset and takes the environment's value.
        """
        schema = super().get_context_jsonschema()
        return without_defaults(schema) if schema is not None else None

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """`CompiledStateGraph.stream` with the context filled in."""
        return super().stream(*args, **filled(kwargs))

    def astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """`CompiledStateGraph.astream` with the context filled in."""
        return super().astream(*args, **filled(kwargs))


class ServerCampaignGraph(ServerGraph):
    """The campaign graph on the server: "Mark as resolved" skips the waiting touch.

    Agent Inbox's "Mark as resolved" is `threads.update_state(thread, values=None,
    as_node="__end__")`. Plain LangGraph clears the pending interrupt and runs nothing, so
    the thread sat idle with `status: awaiting_approval` and no next touch. Here that update
    on a thread waiting at `await_approval` resumes it with `resolved_response()` instead: an
    `ignore` noted as resolved (audited), which records the touch as skipped and schedules
    the next one, as `ignore` does. The person handled this contact themselves; stopping the
    whole sequence stays `coachgraph release`. Any other update is LangGraph's own.
    """

    def update_state(
        self,
        config: RunnableConfig,
        values: dict[str, Any] | Any | None,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> RunnableConfig:
        """LangGraph's `update_state`, except that a resolve skips a waiting touch."""
        if not self._is_resolve(values, as_node, config):
            return super().update_state(config, values, as_node, task_id)
        self.invoke(Command(resume=[resolved_response()]), latest(config))
        return self.get_state(latest(config)).config

    async def aupdate_state(
        self,
        config: RunnableConfig,
        values: dict[str, Any] | Any | None,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> RunnableConfig:
        """LangGraph's `aupdate_state`, except that a resolve skips a waiting touch."""
        if not await self._ais_resolve(values, as_node, config):
            return await super().aupdate_state(config, values, as_node, task_id)
        await self.ainvoke(Command(resume=[resolved_response()]), latest(config))
        return (await self.aget_state(latest(config))).config

    def _is_resolve(self, values: Any, as_node: str | None, config: RunnableConfig) -> bool:
        return values is None and as_node == END and waits_for_person(self.get_state(config))

    async def _ais_resolve(self, values: Any, as_node: str | None, config: RunnableConfig) -> bool:
        if values is not None or as_node != END:
            return False
        return waits_for_person(await self.aget_state(config))


def without_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema whose properties carry no `default` (unset means the environment's)."""
    properties = {
        name: {k: v for k, v in prop.items() if k != "default"}
        for name, prop in schema.get("properties", {}).items()
    }
    return schema | {"properties": properties}


def waits_for_person(snapshot: Any) -> bool:
    """True when the thread's latest step is the approval interrupt."""
    return tuple(snapshot.next) == ("await_approval",) and bool(snapshot.interrupts)


def latest(config: RunnableConfig) -> RunnableConfig:
    """The thread's config without a checkpoint id: act on its latest checkpoint."""
    configurable = {
        k: v for k, v in (config.get("configurable") or {}).items() if k != "checkpoint_id"
    }
    return {**config, "configurable": configurable}


def filled(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Run keyword arguments whose `context` is the environment's settings under the run's."""
    given = kwargs.get("context")
    if not isinstance(given, Context | Mapping | type(None)):
        return kwargs
    return kwargs | {"context": run_context(given)}


def use_runner_door() -> None:
    """Let server runs, which carry no door, reach the world through the runner's door."""
    install_default_door(CrmDoor)


def server_graph(graph: CompiledStateGraph[Any, Any, Any, Any], cls: type[ServerGraph]) -> Any:
    """`graph` as an instance of `cls` (same nodes, channels and settings)."""
    attrs = {k: v for k, v in graph.__dict__.items() if k != "__orig_class__"}
    return cls(**attrs)


def campaign() -> CompiledStateGraph[CampaignState, Context, CampaignInput, CampaignState]:
    """The AA02 campaign graph for the server (it adds its checkpointer and store)."""
    use_runner_door()
    graph: CompiledStateGraph[CampaignState, Context, CampaignInput, CampaignState]
    graph = server_graph(build_campaign_graph().compile(), ServerCampaignGraph)
    return graph


def email_orchestrator() -> CompiledStateGraph[
    OrchestratorState, Context, OrchestratorInput, OrchestratorOutput
]:
    """The AA06 orchestrator for the server (it adds its checkpointer and store)."""
    use_runner_door()
    graph: CompiledStateGraph[OrchestratorState, Context, OrchestratorInput, OrchestratorOutput]
    graph = server_graph(build_email_orchestrator().compile(), ServerGraph)
    return graph
