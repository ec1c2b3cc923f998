"""One database session per request (or task), closed when the app context ends."""
from __future__ import annotations

import threading

from flask import current_app, g
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from incidents.db import make_autocommit_engine

EXTENSION = "vigil.db"
AUTOCOMMIT_EXTENSION = "vigil.db.autocommit"
_autocommit_lock = threading.Lock()


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION].sessionmaker()
    return g.db_session


def autocommit_connection() -> PoolProxiedConnection | None:
    """The request's PostgreSQL driver connection in autocommit, for statements that are atomic
    on their own (incidents.db.DriverStatement); None on SQLite. Returned to its pool at teardown.

    The alert intake's hot path: a key check is a read and a duplicate alert is counted by one
    statement, so neither needs BEGIN and COMMIT round trips, and the incident's row lock is
    released inside the server at the end of the statement, not a client round trip later.
    """
    if "db_autocommit" not in g:
        engine = _autocommit_engine()
        g.db_autocommit = _connect(engine) if engine is not None else None
    return g.db_autocommit


def _connect(engine) -> PoolProxiedConnection:
    """A raw pool connection; the driver's error (the server is down) raised as SQLAlchemy's, which
    the pool does not do on its own, so the intake answers 503 with Retry-After rather than 500."""
    try:
        return engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(None, None, exc, engine.dialect.loaded_dbapi.Error,
                                  dialect=engine.dialect) from exc


def _autocommit_engine():
    extensions = current_app.extensions
    if AUTOCOMMIT_EXTENSION not in extensions:
        with _autocommit_lock:
            if AUTOCOMMIT_EXTENSION not in extensions:
                extensions[AUTOCOMMIT_EXTENSION] = make_autocommit_engine(extensions[EXTENSION].engine)
    return extensions[AUTOCOMMIT_EXTENSION]


def close_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()  # rolls back whatever the view did not commit
    connection = g.pop("db_autocommit", None)
    if connection is not None:
        connection.close()  # back to its pool


