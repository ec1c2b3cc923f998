"""Celery workers: thin tasks that take ids; the database holds the truth (DESIGN rule 1)."""
