"""`vigil backup` and `vigil restore`: a backup restored into a fresh database holds every incident
with its timeline; a database with incidents is replaced only with --yes; a damaged, foreign or
newer backup is refused and changes nothing. On SQLite and on PostgreSQL, whichever the run uses."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from incidents import migrate
from incidents.cli import main
from incidents.db import make_engine
from incidents.models import Base
from incidents.services import backup as backups
from tests.conftest import IN_CI
from tests.helpers import bearer, fixture


def vigil(test_config, url: str, *args: str, **env: str):
    base = {"DATABASE_URL": url, "VIGIL_INSTANCE_PATH": str(test_config.instance_path),
            "SECRET_KEY": test_config.secret_key}
    return CliRunner().invoke(main, list(args), env={**base, **env})


@pytest.fixture(autouse=True)
def _pg_client_tools(database_url, request):
    """On PostgreSQL the commands run pg_dump and pg_restore: skipped without them, except in CI."""
    if database_url.startswith("postgresql") and shutil.which("pg_dump") is None and \
            request.node.name != "test_backup_without_pg_dump_says_what_to_install":
        if IN_CI:
            pytest.fail("CI: pg_dump and pg_restore (postgresql-client) are not installed")
        pytest.skip("no pg_dump here (apt-get install postgresql-client)")


@pytest.fixture
def fresh_database(database_url, tmp_path):
    """Makes empty databases beside the test one: new SQLite files, or emptied PostgreSQL databases
    (kept for the next run: dropping a database forces a checkpoint and takes seconds)."""
    def make(suffix: str) -> str:
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            return f"sqlite:///{tmp_path / f'{suffix}.db'}"
        name = f"{url.database}_{suffix}"
        admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        spare = url.set(database=name).render_as_string(hide_password=False)
        _execute(spare, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")
        return spare
    return make


def _execute(database_url: str, *statements: str) -> None:
    engine = make_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


@pytest.fixture
def world(client, make, clock):
    """Incidents from alerts and from a report, with a timeline of acknowledgements and comments."""
    make.rules()
    svc = make.service()
    make.console_user("ana@ops.example")
    make.user("ben@ops.example")
    key = make.api_key("write")
    for _ in range(2):  # the repeat counts alerts on the open incidents
        client.post("/api/v1/alerts/alertmanager", json=fixture("alertmanager-v4-firing.json"),
                    headers=bearer(svc.keys["alertmanager"]))
    clock.advance(minutes=4)
    reported = client.post("/api/v1/incidents", headers=bearer(key), json={
        "title": "Checkout outage in eu-west", "description": "Customers cannot pay", "customer": "acme"}).json
    client.post(f"/api/v1/incidents/{reported['id']}/acknowledge", json={}, headers=bearer(key))
    client.post(f"/api/v1/incidents/{reported['id']}/comment", json={"text": "rolling back"}, headers=bearer(key))


def snapshot(url: str) -> dict:
    """What people look for after a restore: every incident with its timeline, alerts and users."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = lambda sql: [tuple(r) for r in conn.execute(text(sql))]  # noqa: E731
        found = {
            "incidents": rows("SELECT id, title, status, severity_class, alert_count, opened_at, "
                              "acknowledged_at FROM incidents ORDER BY id"),
            "timeline": rows("SELECT incident_id, kind, actor, message, at FROM incident_events ORDER BY id"),
            "alerts": rows("SELECT id, incident_id, summary FROM alerts ORDER BY id"),
            "users": rows("SELECT email, password_hash FROM users ORDER BY id"),
        }
    engine.dispose()
    return found


def revision(url: str) -> str:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.scalar(text("SELECT version_num FROM alembic_version"))
    engine.dispose()
    return found


def test_restored_into_a_fresh_database_every_incident_is_there_with_its_timeline(
        test_config, database_url, world, fresh_database, tmp_path):
    before = snapshot(database_url)
    assert len(before["incidents"]) == 3 and len(before["timeline"]) >= 5 and len(before["users"]) == 2
    file = tmp_path / "vigil.backup"
    result = vigil(test_config, database_url, "backup", "--output", str(file))
    assert result.exit_code == 0, result.output
    assert "backup written and checked" in result.output and file.stat().st_mode & 0o077 == 0

    target = fresh_database("restore")
    result = vigil(test_config, target, "restore", str(file))
    assert result.exit_code == 0, result.output
    assert "restoring" in result.output
    assert f"restored 3 incidents ({len(before['timeline'])} timeline entries), 4 alerts, 2 users" in result.output
    assert snapshot(target) == before
    assert revision(target) == backups.head_revision()
    verified = vigil(test_config, target, "audit", "verify")  # the restore itself is on the trail
    assert verified.exit_code == 0 and "audit trail intact" in verified.output


def test_a_database_with_incidents_is_replaced_only_with_yes(
        test_config, database_url, world, fresh_database, tmp_path):
    before = snapshot(database_url)
    file = tmp_path / "vigil.backup"
    vigil(test_config, database_url, "backup", "-o", str(file))
    refused = vigil(test_config, database_url, "restore", str(file))
    assert refused.exit_code == 1
    assert "already holds 3 incidents" in refused.output and "--yes" in refused.output
    assert snapshot(database_url) == before

    target = fresh_database("restore")
    assert vigil(test_config, target, "restore", str(file)).exit_code == 0
    _resolve_everything(target)
    refused = vigil(test_config, target, "restore", str(file))
    assert refused.exit_code == 1 and {s for _, _, s, *_ in snapshot(target)["incidents"]} == {"resolved"}
    replaced = vigil(test_config, target, "restore", "--yes", str(file))
    assert replaced.exit_code == 0, replaced.output
    assert snapshot(target) == before


def _resolve_everything(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE incidents SET status = 'resolved'"))
    engine.dispose()


def test_a_damaged_or_foreign_file_is_refused_and_changes_nothing(
        test_config, database_url, world, fresh_database, tmp_path):
    good = tmp_path / "good.backup"
    vigil(test_config, database_url, "backup", "-o", str(good))
    target = fresh_database("restore")
    vigil(test_config, target, "restore", str(good))
    before = snapshot(target)

    for damage, bad in _bad_files(good, fresh_database("foreign"), tmp_path).items():
        result = vigil(test_config, target, "restore", "--yes", str(bad))
        assert result.exit_code == 1, damage
        assert result.output.startswith("Error: ") and "Traceback" not in result.output, result.output
        assert any(words in result.output for words in (
            "is damaged", "is not a Vigil backup", "but not of a Vigil database")), result.output
        assert snapshot(target) == before, damage


def _bad_files(good: Path, foreign_url: str, folder: Path) -> dict[str, Path]:
    files = {name: folder / f"{name}.backup" for name in ("garbage", "truncated", "empty", "foreign")}
    files["garbage"].write_bytes(b"not a backup at all\n" * 100)
    files["truncated"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    files["empty"].write_bytes(b"")
    if foreign_url.startswith("sqlite"):  # a database, but not Vigil's
        conn = sqlite3.connect(make_url(foreign_url).database)
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.close()
    backups.backup(foreign_url, files["foreign"])
    return files


def test_an_older_backup_is_migrated_up_and_a_newer_one_refused(
        test_config, fresh_database, tmp_path):
    head = backups.head_revision()
    # 0009: before 0010's heartbeat tables, whose foreign keys to services would block pg_restore's
    # --clean on a database at head unless restore drops them first.
    previous = "0009"
    old = fresh_database("old")
    migrate.upgrade(old, previous)
    file = tmp_path / "old.backup"
    assert vigil(test_config, old, "backup", "-o", str(file)).exit_code == 0

    target = fresh_database("restore")
    migrate.upgrade(target)  # at head, with the tables the old backup lacks
    result = vigil(test_config, target, "restore", str(file))
    assert result.exit_code == 0, result.output
    assert f"migrating the schema from {previous} to {head}" in result.output
    assert revision(target) == head
    engine = make_engine(target)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()

    _set_revision(old, "f00dfeed")  # as if a later Vigil had migrated it
    newer = tmp_path / "newer.backup"
    backups.backup(old, newer)
    result = vigil(test_config, target, "restore", "--yes", str(newer))
    assert result.exit_code == 1 and "newer than this Vigil's" in result.output
    assert revision(target) == head


def _set_revision(url: str, value: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": value})
    engine.dispose()


def test_sqlite_backup_takes_a_consistent_copy_while_a_writer_is_busy(test_config, database_url, world, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's online backup")
    before = snapshot(database_url)
    writer = sqlite3.connect(make_url(database_url).database)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE incidents SET title = 'half-done'")
    try:  # the service, not the command, which would wait for the writer to add its audit row
        file = tmp_path / "live.backup"
        backups.backup(database_url, file)
    finally:
        writer.rollback()
        writer.close()
    copy = tmp_path / "copy.db"
    sqlite3.connect(copy).close()
    assert vigil(test_config, f"sqlite:///{copy}", "restore", str(file)).exit_code == 0
    assert snapshot(f"sqlite:///{copy}")["incidents"] == before["incidents"]


def test_backup_without_pg_dump_says_what_to_install(test_config, database_url, app, tmp_path):
    if database_url.startswith("sqlite"):
        pytest.skip("pg_dump backs up PostgreSQL only")
    file = tmp_path / "vigil.backup"
    result = vigil(test_config, database_url, "backup", "-o", str(file), PATH=str(tmp_path))
    assert result.exit_code == 1 and "pg_dump not found" in result.output
    assert "postgresql-client" in result.output and not file.exists()
    assert list(tmp_path.iterdir()) == []  # no half-written file left behind


@pytest.mark.parametrize("version, server, ok", [
    ("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)", 15, True),
    ("pg_dump (PostgreSQL) 16.4", 15, True),
    ("pg_dump (PostgreSQL) 14.9", 15, False),
])
def test_pg_dump_older_than_the_server_is_refused(version, server, ok):
    if ok:
        backups.check_client_version(version, server, "pg_dump")
        return
    with pytest.raises(backups.BackupError, match="pg_dump 14 is older than the PostgreSQL 15 server; "
                                                  "install postgresql-client-15"):
        backups.check_client_version(version, server, "pg_dump")


def test_the_password_goes_to_the_environment_not_the_command_line():
    dsn, env = backups.libpq("postgresql+psycopg://vigil:s%3Acret@db.internal:5433/vigil?sslmode=require")
    assert dsn == "postgresql://vigil@db.internal:5433/vigil?sslmode=require"
    assert env == {"PGPASSWORD": "s:cret"}

