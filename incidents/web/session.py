"""One database session per request (or task), closed when the app context ends."""
from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

EXTENSION = "vigil.db"


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION].sessionmaker()
    return g.db_session


def close_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()  # rolls back whatever the view did not commit
