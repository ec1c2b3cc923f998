"""Shared fixtures: an app on a migrated database (SQLite by default, PostgreSQL when
VIGIL_TEST_DATABASE_URL says so), emptied after every test, a movable clock, and factories."""
from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

import config as settings
from incidents import clock as clock_module
from incidents import migrate
from incidents.app import create_app
from incidents.db import make_engine, make_sessionmaker
from incidents.models import Base
from tests import factories

IN_CI = os.environ.get("CI") == "true"


def _database_url(tmp: Path) -> str:
    return os.environ.get("VIGIL_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = _database_url(tmp_path_factory.mktemp("db"))
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as conn:  # a clean slate: whatever a previous run left is dropped
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def test_config(database_url, tmp_path_factory) -> settings.Config:
    return settings.Config(
        database_url=database_url,
        broker_url="memory://",
        secret_key="test-secret-key-" + "x" * 32,
        public_url="http://vigil.test",
        instance_path=tmp_path_factory.mktemp("instance"),
        testing=True,
    )


@pytest.fixture(scope="session")
def app(test_config):
    return create_app(test_config)


@pytest.fixture(autouse=True)
def _empty_tables(request):
    """Every test starts with empty tables (the schema stays)."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    engine = app.extensions["vigil.db"].engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def _test_sessionmaker(database_url):
    # Deferred transactions on SQLite: a test that only reads must not hold the write lock the
    # app's requests need (the app itself takes it up front, see incidents.db).
    engine = make_engine(database_url, sqlite_immediate=False)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def session(app, _test_sessionmaker):  # needs `app` so the tables are emptied after the test
    s = _test_sessionmaker()
    yield s
    s.close()


@pytest.fixture
def client(app):
    return app.test_client()


class FrozenClock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        from datetime import timedelta
        self.at += timedelta(**delta)


@pytest.fixture
def clock():
    frozen = FrozenClock(datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc))
    clock_module.set_clock(frozen)
    yield frozen
    clock_module.set_clock(None)


@pytest.fixture
def make(session):
    """Factories bound to the test's session: make.customer(), make.service(), make.api_key()..."""
    return factories.Factories(session)
