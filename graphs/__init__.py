"""Graph builders: each returns an uncompiled StateGraph; callers inject persistence."""
