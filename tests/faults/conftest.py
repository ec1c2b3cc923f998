"""The fault test's world: private PostgreSQL and Redis (the test stops and restarts them), the
fakes, Vigil's web and worker, and alerts flowing.

It runs once per CI run, in the PostgreSQL + Redis pass (VIGIL_TEST_BROKER_URL set; it never uses
that broker or database), or when VIGIL_FAULTS=1. Without PostgreSQL's server binaries or
redis-server it skips, except in CI, where it fails.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from incidents import migrate
from tests.e2e.conftest import IN_CI, free_port, wait_until
from tests.faults.rig import AlertFlow, Fakes, Stack, seed
from tests.faults.servers import PrivatePostgres, PrivateRedis, pg_bin

START_TIMEOUT = 90.0


def _needs(message: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def world(request):
    if not (os.environ.get("VIGIL_TEST_BROKER_URL") or os.environ.get("VIGIL_FAULTS") == "1"):
        pytest.skip("the fault test runs in the PostgreSQL + Redis pass (or with VIGIL_FAULTS=1)")
    bin_dir = pg_bin()
    if bin_dir is None or shutil.which("redis-server") is None:
        _needs("the fault test needs PostgreSQL's server binaries and redis-server (Debian: postgresql, redis-server)")
    # Under /tmp, not pytest's tmp_path: the postgres user must be able to reach the data directory.
    root = Path(tempfile.mkdtemp(prefix="vigil-faults-"))
    root.chmod(0o755)
    pg = PrivatePostgres(bin_dir, root / "pg")
    broker = PrivateRedis(root / "redis")
    fakes, stack, flow = Fakes(), None, None
    try:
        pg.init()
        broker.start()
        migrate.upgrade(pg.url)
        key = seed(pg.url)
        (root / "logs").mkdir()
        stack = Stack(pg.url, broker.url, fakes, root / "logs", free_port())
        stack.start_web()
        stack.start_worker()
        wait_until(stack.web_ready, timeout=START_TIMEOUT, what="the web to be ready", describe=stack.logs)
        wait_until(stack.worker_ready, timeout=START_TIMEOUT, what="the worker to be ready", describe=stack.logs)
        flow = AlertFlow(stack.base, key)
        yield World(pg=pg, redis=broker, fakes=fakes, stack=stack, flow=flow)
    finally:
        if flow is not None and getattr(flow, "thread", None):
            flow.stop()
        if stack is not None:
            stack.stop()
            print(stack.logs())
        fakes.stop()
        broker.stop()
        pg.destroy()
        if request.session.testsfailed:  # the processes' logs stay for a look
            print(f"logs kept in {root / 'logs'}")
        else:
            shutil.rmtree(root, ignore_errors=True)


class World:
    def __init__(self, **parts):
        self.__dict__.update(parts)
