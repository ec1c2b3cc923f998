"""Pooled PostgreSQL connections: pinged only when they may be dead, replaced when they are; the
intake's autocommit connections live in a pool of their own."""
import time

import pytest
from sqlalchemy import text

from incidents.db import make_autocommit_engine, make_engine
from tests.helpers import bearer

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (VIGIL_TEST_DATABASE_URL)")
    return database_url


def counting_pings(engine):
    pings = []
    real = engine.dialect.do_ping

    def do_ping(dbapi_conn):
        pings.append(dbapi_conn)
        return real(dbapi_conn)

    engine.dialect.do_ping = do_ping
    return pings


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def test_a_connection_in_steady_use_is_not_pinged_on_every_checkout(pg_url):
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    pings = counting_pings(engine)
    try:
        first = backend_pid(engine)  # a new connection is pinged once
        for _ in range(5):
            assert backend_pid(engine) == first
        assert len(pings) == 1
    finally:
        engine.dispose()


def test_a_connection_whose_backend_was_terminated_is_replaced_before_use(pg_url):
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    admin = make_engine(pg_url)
    try:
        dead = backend_pid(engine)
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}).scalar()
        time.sleep(0.3)  # the server says goodbye on the socket, which the pool looks at
        assert backend_pid(engine) != dead  # no error reached the caller
    finally:
        engine.dispose()
        admin.dispose()


def test_the_autocommit_pool_is_separate_and_the_main_pool_stays_transactional(pg_url, app, client, make):
    key = make.service().keys["generic"]
    for _ in range(3):
        response = client.post("/api/v1/alerts", headers=bearer(key),
                               json={"summary": "Disk full", "dedup_key": "disk"})
        assert response.status_code == 202
    assert response.json["alerts"][0]["created"] is False
    engine = app.extensions["vigil.db"].engine
    with engine.connect() as conn:
        assert conn.connection.driver_connection.autocommit is False
    autocommit = app.extensions["vigil.db.autocommit"]
    assert autocommit is not None and autocommit.pool is not engine.pool
    fairy = autocommit.raw_connection()
    try:
        assert fairy.driver_connection.autocommit is True
    finally:
        fairy.close()


def test_no_autocommit_pool_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert make_autocommit_engine(engine) is None
    engine.dispose()


def test_open_incident_lookups_write_resolved_into_the_sql():
    # A bound value would make the generic plan of a prepared statement (psycopg prepares after
    # five runs) unable to use the partial unique index on open incidents: a scan per alert.
    from sqlalchemy.dialects import postgresql

    from incidents.services import incidents

    for statement in (incidents._BUMP, incidents._ATTACH_PG.statement):
        assert "!= 'resolved'" in str(statement.compile(dialect=postgresql.psycopg.dialect()))
