"""Celery tasks. Each loads what it needs by id in its own session and calls one service."""
from celery import shared_task
from sqlalchemy import text

from incidents.web.session import db_session


@shared_task(name="system.ping")
def ping() -> str:
    """Round trip through broker, worker and database; `vigil up` and doctor checks use it."""
    db_session().execute(text("SELECT 1"))
    return "pong"
