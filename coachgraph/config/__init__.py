"""Configuration: validated settings from the environment."""
