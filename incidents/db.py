"""SQLAlchemy base, portable column types and engine set-up for SQLite and PostgreSQL."""
from __future__ import annotations

import select
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, Executable, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, on SQLite (which stores naive) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Vigil stores timezone-aware UTC only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


def make_engine(url: str, *, sqlite_immediate: bool = True, **kwargs) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and foreign keys so web and worker can share it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        if sqlite_immediate:
            event.listen(engine, "begin", _sqlite_begin)
        else:
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _ping_when_in_doubt(engine))
    event.listen(engine, "checkin", _mark_idle)
    return engine


# A pooled connection is pinged before use only when it may be dead: it sat idle long enough for a
# firewall or server timeout to drop it, or the server sent something while it was idle (a
# restarted or terminated backend says so and hangs up). SQLAlchemy's pool_pre_ping would ping on
# every checkout: a database round trip on every request, about 10% of the intake's throughput.
PING_AFTER_IDLE_SECONDS = 30.0
_IDLE_SINCE = "vigil_idle_since"


def _ping_when_in_doubt(engine: Engine):
    def check(dbapi_conn, record, _proxy) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if (idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS
                and not _has_input(dbapi_conn)):
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure: the pool discards it and connects again
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc

    return check


def _mark_idle(_dbapi_conn, record) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _has_input(dbapi_conn) -> bool:
    """Did the server send anything (an error, end of file) to this idle connection?"""
    try:
        poll = select.poll()
        poll.register(dbapi_conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poll.poll(0))
    except Exception:  # no socket to look at: let the ping decide
        return True


def make_autocommit_engine(engine: Engine) -> Engine | None:
    """A second pool on `engine`'s PostgreSQL database whose connections are always in autocommit,
    for statements that are atomic on their own (see DriverStatement); None on SQLite.

    A pool of its own, rather than switching connections of the main pool back and forth, so no
    connection can ever go back to the main pool still in autocommit.
    """
    if engine.dialect.name != "postgresql":
        return None
    return make_engine(engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")


class DriverStatement:
    """A Core statement compiled once for PostgreSQL and run on the psycopg connection itself.

    For the few statements on the alert intake's hot path, where SQLAlchemy's work per execution
    (parameters, execution context, result objects) costs as much CPU as the database round trip.
    `first()` also takes a Session, and then runs the Core statement as usual (any database).
    Driver parameters are passed to psycopg as they are (timezone-aware datetimes, strings,
    numbers) except JSON ones, which are wrapped here; errors are raised as SQLAlchemy's, so the
    web layer maps them to responses the same way.
    """

    def __init__(self, statement: Executable):
        compiled = statement.compile(dialect=PGDialect_psycopg())
        self.statement = statement
        self.sql = str(compiled)
        self._json = frozenset(name for name, bind in compiled.binds.items()
                               if isinstance(bind.type, JSON))

    def first(self, db: Session | PoolProxiedConnection, params: dict[str, Any]):
        """The first row the statement returns, or None."""
        if isinstance(db, Session):
            return db.connection().execute(self.statement, params).first()
        import psycopg
        from psycopg.types.json import Jsonb

        if self._json:
            params = {k: Jsonb(v) if k in self._json else v for k, v in params.items()}
        conn = db.driver_connection
        try:
            return conn.execute(self.sql, params).fetchone()
        except psycopg.Error as exc:
            lost = conn.closed or conn.broken
            if lost:
                db.invalidate(exc)
            raise DBAPIError.instance(self.sql, params, exc, psycopg.Error,
                                      connection_invalidated=lost) from exc


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin) instead of pysqlite's lazy transactions.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two writers wait on the busy timeout
    # instead of failing with "database is locked" when a read transaction tries to upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
