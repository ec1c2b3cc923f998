"""The README's first command: `vigil up --sample` serves the API, runs the worker, and the alert
it tells the user to fire opens an incident. Real processes, real broker (embedded or Redis)."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from celery import Celery

BROKER = os.environ.get("VIGIL_TEST_BROKER_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def vigil_up(app, database_url, tmp_path):
    """`vigil up --sample` as a user runs it; stopped with Ctrl-C (SIGINT) at the end."""
    port = free_port()
    env = {**os.environ, "VIGIL_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database_url,
           "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    if BROKER:
        env["CELERY_BROKER_URL"] = BROKER
    log = tmp_path / "up.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "incidents.cli", "up", "--sample", "--port", str(port),
                                 "--web-workers", "1"], stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=tmp_path)
    try:
        yield proc, f"http://127.0.0.1:{port}", log, env
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        print(log.read_text()[-3000:])


def test_vigil_up_serves_and_the_suggested_alert_opens_an_incident(vigil_up):
    proc, base, log, env = vigil_up

    def ready():
        try:
            return requests.get(f"{base}/readyz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or the worker is still booting
            assert proc.poll() is None, "vigil up exited early:\n" + log.read_text()[-3000:]
            return False

    wait_for(ready, 90, "/readyz")
    printed = log.read_text()
    match = re.search(r"curl -sS -X POST (\S+) -H 'Authorization: Bearer (\w+)'", printed)
    assert match, "vigil up --sample did not say how to fire a test alert"
    url, key = match.groups()
    response = requests.post(url, json={"summary": "Checkout is down", "source": "curl", "severity": "critical"},
                             headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code == 202
    assert response.json()["alerts"][0]["created"] is True

    # The worker is up on the configured broker: a task sent there is run.
    celery = Celery(broker=env.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{env['VIGIL_INSTANCE_PATH']}/broker.db")
    task_id = celery.send_task("system.ping").id
    wait_for(lambda: f"system.ping[{task_id}] succeeded" in log.read_text(), 60, "the worker to run system.ping")

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
