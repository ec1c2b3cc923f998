"""Back up and restore Vigil's database: SQLite through its online backup API, PostgreSQL through
pg_dump's custom format and pg_restore. A backup file is checked whole before anything is replaced."""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import URL, make_url

from incidents import migrate
from incidents.db import make_engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# Counted for the summary: the rows people look for after a restore.
COUNTED = ("incidents", "incident_events", "alerts", "users")


class BackupError(Exception):
    """A backup or restore that cannot go ahead, said in words; nothing was changed."""


@dataclass(frozen=True)
class BackupFile:
    path: Path
    kind: str        # "sqlite" | "postgresql"
    revision: str    # the schema's Alembic revision when the backup was taken
    tables: frozenset[str]


def kind_of(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


# --- taking a backup -------------------------------------------------------------------------

def backup(database_url: str, output: Path) -> None:
    """Write a consistent copy of the database to `output` (mode 600: it holds hashes and secrets).

    The copy is written beside `output` and renamed into place, so a failed backup leaves no file.
    """
    if output.exists():
        raise BackupError(f"{output} already exists; choose another name or remove it")
    if not output.parent.is_dir():
        raise BackupError(f"{output.parent} is not a directory")
    fd, partial = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(fd)
    try:
        if kind_of(database_url) == "sqlite":
            _sqlite_backup(database_url, Path(partial))
        else:
            _pg_dump(database_url, Path(partial))
        os.replace(partial, output)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _sqlite_path(database_url: str) -> Path:
    path = make_url(database_url).database
    if not path or path == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file to back up or restore")
    return Path(path)


def _sqlite_backup(database_url: str, partial: Path) -> None:
    source = _sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    # The online backup API copies one consistent snapshot while the web server and worker keep
    # writing (WAL: readers never wait for writers).
    src, dst = sqlite3.connect(source, timeout=30), sqlite3.connect(partial)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _pg_dump(database_url: str, partial: Path) -> None:
    dsn, env = libpq(database_url)
    client = _tool("pg_dump")
    server = _server_major(database_url)
    check_client_version(_run([client, "--version"], env).stdout, server, "pg_dump")
    _run([client, "--format=custom", "--no-password", f"--file={partial}", f"--dbname={dsn}"], env)


# --- reading a backup file -------------------------------------------------------------------

def read(path: Path) -> BackupFile:
    """What the file is, checked through to its last byte: a damaged or foreign file is refused here."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return _read_sqlite(path)
    if head.startswith(PG_MAGIC):
        return _read_pg(path)
    raise BackupError(f"{path} is not a Vigil backup (neither a SQLite database nor a pg_dump archive)")


def _read_sqlite(path: Path) -> BackupFile:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"{path} is damaged: SQLite says {check!r}")
            tables = frozenset(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
            revision = _sqlite_revision(conn, tables)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is damaged or not a SQLite database: {exc}") from None
    return _vigil_file(path, "sqlite", revision, tables)


def _sqlite_revision(conn: sqlite3.Connection, tables: frozenset[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def _read_pg(path: Path) -> BackupFile:
    restore, env = _tool("pg_restore"), {}
    listing = _run([restore, "--list", str(path)], env,
                   what=f"{path} is damaged (or from a newer pg_dump than this pg_restore)").stdout
    tables = frozenset(re.findall(r"^\d+; \d+ \d+ TABLE public (\S+) ", listing, re.MULTILINE))
    # Reading the whole archive proves every data block is there before the database is touched.
    _run([restore, "--file=" + os.devnull, str(path)], env, what=f"{path} is damaged")
    script = _run([restore, "--data-only", "--table=alembic_version", "--file=-", str(path)], env,
                  what=f"{path} is damaged").stdout
    found = re.search(r"^COPY public\.alembic_version .*?\n(\w+)\n\\\.", script, re.MULTILINE)
    return _vigil_file(path, "postgresql", found.group(1) if found else None, tables)


def _vigil_file(path: Path, kind: str, revision: str | None, tables: frozenset[str]) -> BackupFile:
    if revision is None or "incidents" not in tables:
        raise BackupError(f"{path} is a {KINDS[kind]} backup but not of a Vigil database "
                          "(no incidents table or schema revision)")
    return BackupFile(path, kind, revision, tables)


# --- schema revisions ------------------------------------------------------------------------

def head_revision() -> str:
    return _scripts().get_current_head()


def older_than_head(revision: str) -> bool:
    """True when migrations must run after restoring; refuses a backup this Vigil cannot read."""
    scripts, head = _scripts(), head_revision()
    if revision == head:
        return False
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(f"the backup's schema revision {revision} is newer than this Vigil's ({head}); "
                          "restore it with the Vigil version that made it")
    return True


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))


# --- restoring -------------------------------------------------------------------------------

def count_rows(database_url: str) -> dict[str, int]:
    """Rows per counted table; 0 for a table that does not exist (a fresh database)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return {name: conn.scalar(select(func.count()).select_from(table(name))) if name in present else 0
                    for name in COUNTED}
    finally:
        engine.dispose()


def check_kind(source: BackupFile, database_url: str) -> None:
    if source.kind != kind_of(database_url):
        raise BackupError(f"{source.path} is a {KINDS[source.kind]} backup but DATABASE_URL is "
                          f"{KINDS[kind_of(database_url)]}; restore it into a {KINDS[source.kind]} database")


def restore(database_url: str, source: BackupFile) -> None:
    """Replace the database's contents with the backup's (the schema revision comes with it)."""
    check_kind(source, database_url)
    if source.kind == "sqlite":
        _sqlite_restore(database_url, source.path)
    else:
        _pg_restore(database_url, source)


def _sqlite_restore(database_url: str, path: Path) -> None:
    target = _sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The backup API replaces every page in one write transaction: all or nothing, and
    # connections already open see the restored database at their next transaction.
    src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"restore failed, {target} is unchanged: {exc}") from None
    finally:
        dst.close()
        src.close()


def _pg_restore(database_url: str, source: BackupFile) -> None:
    dsn, env = libpq(database_url)
    client = _tool("pg_restore")
    _drop_tables_not_in(database_url, source.tables)
    # --single-transaction: any error rolls the whole restore back and the database is as it was.
    _run([client, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--no-password",
          f"--dbname={dsn}", str(source.path)], env, what="restore failed, the database is unchanged")


def _drop_tables_not_in(database_url: str, tables: frozenset[str]) -> None:
    """Tables a newer schema added (the backup is older): dropped, so their rows and foreign keys
    cannot block the restore, and the migrations that follow create them afresh."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            for name in set(inspect(conn).get_table_names(schema="public")) - tables:
                conn.execute(text(f'DROP TABLE IF EXISTS public."{name}" CASCADE'))
    finally:
        engine.dispose()


# --- PostgreSQL client tools -----------------------------------------------------------------

def libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The libpq URI for pg_dump/pg_restore, without the password, which goes in PGPASSWORD
    (an argument would show in `ps` and in logs)."""
    url = make_url(database_url)
    env = {"PGPASSWORD": url.password} if url.password else {}
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                       database=url.database, query=url.query)
    return plain.render_as_string(hide_password=False), env


def check_client_version(version_text: str, server_major: int, tool: str) -> None:
    """pg_dump refuses a newer server, with a message few understand; say what to install."""
    found = re.search(r"\)\s*(\d+)", version_text)
    if not found:
        raise BackupError(f"cannot tell {tool}'s version from {version_text.strip()!r}")
    client = int(found.group(1))
    if client < server_major:
        raise BackupError(f"{tool} {client} is older than the PostgreSQL {server_major} server; "
                          f"install postgresql-client-{server_major}")


def _server_major(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SHOW server_version_num"))) // 10000
    finally:
        engine.dispose()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found on PATH; install the PostgreSQL client tools "
                          "(postgresql-client-<server major version> on Debian)")
    return found


def _run(argv: list[str], env: dict[str, str], what: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True,
                          encoding="utf-8", errors="replace")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        # The line that says what failed, not the "Command was:" or HINT lines after it.
        detail = next((line for line in lines if "error:" in line), lines[-1])
        raise BackupError(f"{what or Path(argv[0]).name + ' failed'}: {detail}")
    return done
