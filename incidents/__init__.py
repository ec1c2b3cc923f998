"""Vigil's core: incidents, their classification, deadlines and lifecycle."""
