"""Mermaid diagrams of the graphs, drawn from code, and the README blocks that show them."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.graph import StateGraph


def _orchestrator() -> StateGraph[Any, Any, Any, Any]:
    from graphs.email_orchestrator import build_email_orchestrator

    return build_email_orchestrator()


def _campaign() -> StateGraph[Any, Any, Any, Any]:
    from graphs.campaign import build_campaign_graph

    return build_campaign_graph()


GRAPHS: dict[str, Callable[[], StateGraph[Any, Any, Any, Any]]] = {
    "email_orchestrator": _orchestrator,
    "campaign": _campaign,
}


def render(name: str) -> str:
    """The graph's mermaid text (the orchestrator with its worker subgraphs expanded)."""
    xray = 1 if name == "email_orchestrator" else 0
    return GRAPHS[name]().compile().get_graph(xray=xray).draw_mermaid()


def readme_block(name: str) -> str:
    """The fenced block the README carries for a graph, between markers."""
    return f"<!-- diagram:{name} -->\n```mermaid\n{render(name)}```\n<!-- /diagram:{name} -->"


def update_readme(path: Path) -> None:
    """Replace every diagram block in the README with a fresh drawing."""
    text = path.read_text()
    for name in GRAPHS:
        pattern = re.compile(rf"<!-- diagram:{name} -->.*?<!-- /diagram:{name} -->", re.DOTALL)
        text = pattern.sub(lambda _m, n=name: readme_block(n), text)  # type: ignore[misc]
    path.write_text(text)


if __name__ == "__main__":
    update_readme(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
