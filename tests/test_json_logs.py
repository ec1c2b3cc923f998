"""LOG_FORMAT=json: one JSON object per line with the request's id, which the caller may give in
X-Request-Id and always gets back; gunicorn's access line too, still without one-time tokens."""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from incidents.app import create_app
from incidents.web import request_log
from tests.e2e.conftest import free_port

REPO = Path(__file__).resolve().parents[1]
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_app(test_config):
    """An app whose logs are JSON, written to a buffer the test reads."""
    app = create_app(dataclasses.replace(test_config, log_format="json"))

    @app.get("/test/log-twice")
    def log_twice():  # a view that logs, as views do when something goes wrong
        logging.getLogger("incidents.test").warning("first line")
        logging.getLogger("incidents.test").info("second line", extra={"fields": {"detail": 7}})
        return {"ok": True}

    root = logging.getLogger()
    level = root.level
    handler = request_log.use_json(root)
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield app, buffer
    root.removeHandler(handler)
    root.setLevel(level)
    app.extensions["vigil.db"].engine.dispose()


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_every_line_of_a_request_is_json_with_its_request_id(json_app):
    app, buffer = json_app
    response = app.test_client().get("/test/log-twice", headers={"X-Request-Id": "deploy-42.a_b"})
    assert response.headers["X-Request-Id"] == "deploy-42.a_b"
    logged = [line for line in lines(buffer) if line["logger"] == "incidents.test"]
    assert [(line["level"], line["message"], line["request_id"]) for line in logged] == [
        ("warning", "first line", "deploy-42.a_b"), ("info", "second line", "deploy-42.a_b")]
    assert logged[1]["detail"] == 7
    assert {"time", "level", "logger", "message", "request_id"} <= set(logged[0])


@pytest.mark.parametrize("given", [None, "", "has spaces", "semi;colon", "quo\"te", "x" * 65, "<script>", "ünï"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_generated_one(json_app, given):
    app, buffer = json_app
    headers = {} if given is None else {"X-Request-Id": given}
    response = app.test_client().get("/test/log-twice", headers=headers)
    answered = response.headers["X-Request-Id"]
    assert GENERATED.fullmatch(answered)
    assert {line["request_id"] for line in lines(buffer) if line["logger"] == "incidents.test"} == {answered}


def test_each_request_gets_its_own_id(client):
    first, second = (client.get("/healthz").headers["X-Request-Id"] for _ in range(2))
    assert first != second and GENERATED.fullmatch(first) and GENERATED.fullmatch(second)


def test_an_exception_stays_on_one_line():
    formatter = request_log.JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("incidents.test").makeRecord(
            "incidents.test", logging.ERROR, __file__, 1, "failed: %s", ("x",), sys.exc_info())
    line = formatter.format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "failed: x" and "ValueError: boom" in parsed["exception"]


def test_gunicorn_access_lines_are_json_with_the_request_id_and_no_one_time_token(tmp_path):
    port = free_port()
    env = {**os.environ, "LOG_FORMAT": "json", "VIGIL_INSTANCE_PATH": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'vigil.db'}", "CELERY_BROKER_URL": "memory://"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--access-logfile", "-", "--logger-class", "incidents.web.access_log.AccessLog"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(port)
        answer = requests.get(f"http://127.0.0.1:{port}/healthz?key=secret-in-query",
                              headers={"X-Request-Id": "probe-1"}, timeout=10)
        assert answer.headers["X-Request-Id"] == "probe-1"
        requests.get(f"http://127.0.0.1:{port}/invite/one-time-token-abc", timeout=10)
    finally:
        web.send_signal(signal.SIGTERM)
        out, err = web.communicate(timeout=30)
    access = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    health = [line for line in access if line["path"] == "/healthz"][-1]  # not the start-up probes
    assert (health["request_id"], health["method"], health["status"], health["logger"]) == \
        ("probe-1", "GET", 200, "gunicorn.access")
    assert health["remote_addr"] == "127.0.0.1" and isinstance(health["duration_ms"], float)
    assert "secret-in-query" not in out and "one-time-token-abc" not in out
    errors = [line for line in err.splitlines() if line.strip()]
    assert errors and all(json.loads(line)["logger"] for line in errors)  # gunicorn's own lines: JSON too


def _wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 30  # the worker imports the app first: slow on a busy machine
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")
