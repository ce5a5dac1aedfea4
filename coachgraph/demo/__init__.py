"""The demo: a fresh local CRM and the whole main job in simulated time."""
