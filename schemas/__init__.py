"""Pydantic models for LLM outputs and CRM rows, graph state TypedDicts, provenance."""
