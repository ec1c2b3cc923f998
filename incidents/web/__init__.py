"""Doors for people and programs: JSON API, health checks (console and hooks come later)."""
