"""Real services for the rotator tests, as fixtures a test module imports by name:

- `moto_server`: moto's server mode on a free loopback port (the `moto_server` the test extra
  installs in the venv); `aws_environ` resets it and gives the AWS_* variables that point boto3 at it.
- `pg_admin_dsn` + `pg_scram`: the local PostgreSQL as superuser; `pg_scram` makes members of the
  group role `vigil_rotated` log in over TCP with SCRAM passwords (the suite's server trusts
  127.0.0.1, where any password would do), by putting two lines first in the file `SHOW hba_file`
  names. Other roles keep their trust access. Needs to write that file (root in CI).
- `redis_admin_url`: the local Redis, as its default user.

Missing services skip the tests, except in CI (CI=true), where they fail.

Each module that imports a session fixture gets its own copy of it (pytest keys fixtures by the
module that defines them), so the moto server is kept here once per process and shared.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

IN_CI = os.environ.get("CI") == "true"
# A superuser DSN and an admin Redis URL: given, or those tests/run.sh uses, or the local servers.
PG_ADMIN_DSN = (os.environ.get("VIGIL_TEST_PG_ADMIN_DSN")
                or os.environ.get("VIGIL_TEST_PG_URL", "").replace("postgresql+psycopg://", "postgresql://", 1)
                or "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_ADMIN_URL = (os.environ.get("VIGIL_TEST_REDIS_ADMIN_URL") or os.environ.get("VIGIL_TEST_REDIS_URL")
                   or "redis://127.0.0.1:6379/0")
ROTATED_GROUP = "vigil_rotated"
HBA_LINES = [f"host all +{ROTATED_GROUP} 127.0.0.1/32 scram-sha-256",
             f"host all +{ROTATED_GROUP} ::1/128 scram-sha-256"]


def unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


# -- AWS through moto's server mode -----------------------------------------------------------------

class MotoServer:
    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False  # loopback: never through a proxy

    def reset(self) -> None:
        self.http.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def enforce_auth(self, on: bool) -> None:
        """moto checks keys and signatures only when asked: after `count` unchecked requests."""
        count = "0" if on else "inf"
        self.http.post(f"{self.url}/moto-api/reset-auth", data=count, timeout=10).raise_for_status()


def _moto_binary() -> str:
    local = Path(sys.executable).with_name("moto_server")
    return str(local) if local.exists() else (shutil.which("moto_server") or "")


_shared: dict[str, MotoServer] = {}


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    if "moto" in _shared:  # another module's copy of this fixture started it
        yield _shared["moto"]
        return
    binary = _moto_binary()
    if not binary:
        unavailable("moto_server is not installed (pip install -e '.[test]' installs moto[server])")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)
    server = MotoServer(f"http://127.0.0.1:{port}")

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"moto_server exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            return server.http.get(f"{server.url}/moto-api/", timeout=1).ok
        except requests.RequestException:
            return False

    try:
        _wait(up, timeout=30, what=f"moto_server on {server.url}")
        _shared["moto"] = server
        yield server
    finally:
        _shared.pop("moto", None)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def aws_environ(moto_server, monkeypatch) -> dict[str, str]:
    """A fresh moto and the environment a worker would have (also set in os.environ, for boto3
    clients a test makes itself)."""
    moto_server.enforce_auth(False)
    moto_server.reset()
    environ = {"AWS_ENDPOINT_URL": moto_server.url, "AWS_ACCESS_KEY_ID": "vigil-admin-testing",
               "AWS_SECRET_ACCESS_KEY": "vigil-admin-secret-testing", "AWS_DEFAULT_REGION": "eu-west-1"}
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL_IAM",
                 "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return environ


# -- PostgreSQL with SCRAM for the rotated roles -----------------------------------------------------

def pg_connect(dsn: str = PG_ADMIN_DSN, **kwargs: Any):
    import psycopg
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5, **kwargs)


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    import psycopg
    try:
        pg_connect().close()
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL is not reachable at {PG_ADMIN_DSN} as a superuser ({type(exc).__name__})")
    return PG_ADMIN_DSN


@pytest.fixture(scope="session")
def pg_scram(pg_admin_dsn) -> str:
    """Members of `vigil_rotated` need a real password over TCP; returns the group's name."""
    import psycopg
    with pg_connect(pg_admin_dsn) as conn:
        try:
            conn.execute(f"CREATE ROLE {ROTATED_GROUP} NOLOGIN")
        except psycopg.errors.DuplicateObject:
            pass
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
        lines = hba.read_text().splitlines() if os.access(hba, os.R_OK) else None
        if lines is None or not all(line in lines for line in HBA_LINES):
            if not os.access(hba, os.W_OK):
                unavailable(f"cannot write {hba} to require SCRAM passwords for members of {ROTATED_GROUP} "
                            f"(run as root, or put these lines first in it and reload: {HBA_LINES})")
            # First lines win in pg_hba.conf: only this group's TCP logins change.
            hba.write_text("\n".join([*HBA_LINES, *(l for l in lines if l not in HBA_LINES)]) + "\n")
            conn.execute("SELECT pg_reload_conf()")
        errors = conn.execute("SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL").fetchall()
        assert not errors, f"{hba} has errors after the edit: {errors}"
    _wait(lambda: _scram_in_force(pg_admin_dsn), timeout=10, what="PostgreSQL to reload pg_hba.conf")
    return ROTATED_GROUP


def _scram_in_force(dsn: str) -> bool:
    """pg_reload_conf() only signals the server: wait until a member's wrong password is refused."""
    import psycopg
    from psycopg import sql
    probe = unique("vigil_test_probe")
    with pg_connect(dsn) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
            sql.Identifier(probe), sql.Literal(uuid.uuid4().hex), sql.Identifier(ROTATED_GROUP)))
    try:
        pg_connect(dsn, user=probe, password="wrong").close()
        return False
    except psycopg.OperationalError:
        return True
    finally:
        with pg_connect(dsn) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(probe)))


@pytest.fixture
def pg_role(pg_scram, pg_admin_dsn):
    """A login role in the SCRAM group with a known old password; dropped afterwards.
    Yields (name, old password)."""
    from psycopg import sql
    name, password = unique("vigil_test_role"), "old-" + uuid.uuid4().hex
    with pg_connect(pg_admin_dsn) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
            sql.Identifier(name), sql.Literal(password), sql.Identifier(pg_scram)))
    try:
        yield name, password
    finally:
        with pg_connect(pg_admin_dsn) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


# -- Redis ACL users -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_admin_url() -> str:
    import redis
    try:
        client = redis.Redis.from_url(REDIS_ADMIN_URL, socket_timeout=5)
        client.acl_whoami()
        client.close()
    except redis.RedisError as exc:
        unavailable(f"Redis with ACLs is not reachable at {REDIS_ADMIN_URL} ({type(exc).__name__})")
    return REDIS_ADMIN_URL


@pytest.fixture
def redis_user(redis_admin_url):
    """An ACL user with a known old password and some rules of its own; deleted afterwards.
    Yields (name, old password)."""
    import redis
    name, password = unique("vigil_test_user"), "old-" + uuid.uuid4().hex
    admin = redis.Redis.from_url(redis_admin_url, socket_timeout=5)
    admin.acl_setuser(name, enabled=True, passwords=[f"+{password}"], keys=["vigil:test:*"],
                      commands=["+get", "+set", "+ping"])
    try:
        yield name, password
    finally:
        admin.acl_deluser(name)
        admin.close()


# -- driving a rotator as the runner does ----------------------------------------------------------

def rotator_context(*, config: dict, environ: dict, secrets: Any, session: Any = None,
                    checkpoint: dict | None = None, mode: str = "live"):
    """A base.Context like the runner's: `save` commits the session (as the runner's does)."""
    from incidents import clock
    from incidents.services.playbook.rotators.base import Context

    def save(progress: dict) -> None:
        if session is not None:
            session.commit()

    return Context(session=session, run_id=1, step_id=1, mode=mode, config=config, playbook={},
                   checkpoint=checkpoint if checkpoint is not None else {}, actor="test", now=clock.now,
                   secrets=secrets, environ=environ, _save=save)


def run_rotator(rotator: Any, ctx: Any) -> str:
    """plan (kept in the checkpoint, as the runner keeps it), apply, verify: the step's summary."""
    plan = ctx.checkpoint.get("plan") or rotator.plan(ctx)
    ctx.save(plan=plan)
    rotator.apply(ctx, plan)
    return rotator.verify(ctx, plan)
