"""Graph factories for `langgraph dev` / LangGraph Studio (see langgraph.json).

The server calls these and injects its own checkpointer and store. Its runs carry a
context without a door, so loading this module installs the runner's door as the default:
such a run reaches coachgraph's database, transport and model as the CLI's runs do.
"""

from __future__ import annotations

from langgraph.graph.state import CompiledStateGraph

from coachgraph.runner.door import CrmDoor
from graphs.campaign import build_campaign_graph
from graphs.email_orchestrator import build_email_orchestrator
from schemas.campaign import CampaignInput, CampaignState
from schemas.context import Context
from schemas.door import install_default_door
from schemas.orchestrator import OrchestratorInput, OrchestratorOutput, OrchestratorState

install_default_door(CrmDoor)


def email_orchestrator() -> CompiledStateGraph[
    OrchestratorState, Context, OrchestratorInput, OrchestratorOutput
]:
    """The AA06 orchestrator, compiled without persistence (the server adds it)."""
    return build_email_orchestrator().compile()


def campaign() -> CompiledStateGraph[CampaignState, Context, CampaignInput, CampaignState]:
    """The AA02 campaign graph, compiled without persistence (the server adds it)."""
    return build_campaign_graph().compile()
