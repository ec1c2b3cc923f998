"""Alembic migrations; run with `vigil db upgrade`."""
