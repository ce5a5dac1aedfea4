"""coachgraph: durable coach→worker LangGraph workflows for human-approved sales outreach."""

__version__ = "0.1.0"
