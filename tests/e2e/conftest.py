"""Fixtures for end-to-end tests: a live Vigil on loopback and a real Prometheus Alertmanager
pointed at it; libfaketime for processes whose clock a test moves; an SMTP sink that takes its time.

The Vigil server serves the suite's `app` (same database as the test, already migrated, emptied
after each test) with werkzeug in a daemon thread. Alertmanager is the Debian package
`prometheus-alertmanager`; without it these tests skip, except in CI (CI=true), where they fail so
a missing package cannot pass unnoticed. The same goes for libfaketime (Debian package `faketime`).
"""
from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from werkzeug.serving import make_server

from tests.fakes.smtp import SmtpSink, _Handler

ALERTMANAGER = "prometheus-alertmanager"
LIBFAKETIME = "/usr/lib/*/faketime/libfaketime.so.1"  # Debian's multiarch path
IN_CI = os.environ.get("CI") == "true"
READY_TIMEOUT = 20.0
LOG_TAIL_LINES = 60
SLOW_SMTP_SECONDS = 0.4  # per message, so a test can act while a process is sending mail


# -- helpers -------------------------------------------------------------------------------------

def http() -> requests.Session:
    """A requests session that never goes through a proxy: everything here is loopback."""
    s = requests.Session()
    s.trust_env = False
    return s


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], *, timeout: float, what: str,
               describe: Callable[[], str] | None = None, interval: float = 0.2) -> Any:
    """Call `check` until it returns something truthy, at most `timeout` seconds; then fail,
    saying what we waited for and (via `describe`) what we saw instead."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            seen = describe() if describe else repr(result)
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; saw: {seen}")
        time.sleep(interval)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


# -- reporting: the Alertmanager log tail goes with a failure --------------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    log = getattr(item, "_alertmanager_log", None)
    if report.failed and log is not None:
        report.sections.append((f"alertmanager log (last {LOG_TAIL_LINES} lines of {log})",
                                log_tail(log)))


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    path = shutil.which(ALERTMANAGER) or shutil.which(ALERTMANAGER, path="/usr/bin:/usr/sbin")
    if path is None:
        message = (f"{ALERTMANAGER} is not installed; the end-to-end tests need it "
                   f"(sudo apt-get install -y {ALERTMANAGER})")
        if IN_CI:
            pytest.fail(f"CI=true: {message}. CI must install the package.", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def libfaketime() -> str:
    """The libfaketime preload library: the path for LD_PRELOAD."""
    found = sorted(glob.glob(LIBFAKETIME))
    if not found:
        message = "libfaketime is not installed; the SLA clock tests need it (sudo apt-get install -y faketime)"
        if IN_CI:
            pytest.fail(f"CI=true: {message}. CI must install the package.", pytrace=False)
        pytest.skip(message)
    return found[0]


class _SlowHandler(_Handler):
    """Keeps each message as it arrives, then takes SLOW_SMTP_SECONDS to say so: a sender killed
    while it waits for the answer has delivered the message without knowing it."""

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(SLOW_SMTP_SECONDS)
        return answer


@pytest.fixture
def slow_smtp_sink():
    """tests.fakes.smtp's sink, answering each message SLOW_SMTP_SECONDS after it arrived."""
    sink = SmtpSink()
    sink._controller.handler = _SlowHandler(sink)  # aiosmtpd's controller reads it per connection
    with sink:
        yield sink


@pytest.fixture
def live_vigil(app):
    """Vigil's app served over real HTTP on 127.0.0.1 (a free port); yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="vigil-e2e-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with http() as s:
            wait_until(lambda: _ok(s, f"{base}/healthz"), timeout=10, what=f"{base}/healthz")
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _ok(s: requests.Session, url: str) -> bool:
    try:
        return s.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class VigilService:
    name: str
    alertmanager_key: str
    pagerduty_key: str
    read_api_key: str


@pytest.fixture
def vigil_service(make) -> VigilService:
    """The sample classification rules and a service (auto_resolve) with integration keys."""
    make.rules()
    svc = make.service("checkout")
    return VigilService(name=svc.service.name, alertmanager_key=svc.keys["alertmanager"],
                        pagerduty_key=svc.keys["pagerduty"], read_api_key=make.api_key("read"))


CONFIG = """\
route:
  receiver: incident-webhook
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - receiver: incident-webhook
      continue: true
      matchers: ['severity=~"critical|warning"']
    - receiver: pagerduty-compat
      matchers: ['severity="critical"']
receivers:
  - name: incident-webhook
    webhook_configs:
      - url: {vigil}/api/v1/alerts/alertmanager
        send_resolved: true
        http_config: {{authorization: {{type: Bearer, credentials: {am_key}}}}}
  - name: pagerduty-compat
    pagerduty_configs:
      - routing_key: {pd_key}
        url: {vigil}/v2/enqueue
        send_resolved: true
        severity: '{{{{ .CommonLabels.severity }}}}'
"""

# Group keys as Alertmanager builds them: route key + ":" + the group labels. The PagerDuty
# notifier's dedup_key is the sha256 of its route's group key.
WEBHOOK_ROUTE_KEY = '{}/{severity=~"critical|warning"}'
PAGERDUTY_ROUTE_KEY = '{}/{severity="critical"}'


@dataclass
class Alertmanager:
    url: str
    log: Path
    process: subprocess.Popen

    def post_alerts(self, alerts: list[dict]) -> None:
        with http() as s:
            r = s.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5)
        assert r.status_code == 200, f"Alertmanager refused the alerts: {r.status_code} {r.text}"

    def alerts(self, **filters: str) -> list[dict]:
        params = {"filter": [f'{k}="{v}"' for k, v in filters.items()]}
        with http() as s:
            r = s.get(f"{self.url}/api/v2/alerts", params=params, timeout=5)
        r.raise_for_status()
        return r.json()


@pytest.fixture
def alertmanager(request, alertmanager_binary, live_vigil, vigil_service, tmp_path) -> Alertmanager:
    """A real Alertmanager whose webhook and PagerDuty receivers point at the live Vigil."""
    workdir = tmp_path / "alertmanager"
    (workdir / "data").mkdir(parents=True)
    config = workdir / "alertmanager.yml"
    config.write_text(CONFIG.format(vigil=live_vigil, am_key=vigil_service.alertmanager_key,
                                    pd_key=vigil_service.pagerduty_key))
    log = workdir / "alertmanager.log"
    request.node._alertmanager_log = log
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}

    process = None
    try:
        for attempt in range(3):  # the probed free port can be taken before Alertmanager binds it
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [alertmanager_binary, f"--config.file={config}",
                     f"--storage.path={workdir / 'data'}",
                     f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                     "--log.level=debug"],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            if _wait_ready(process, url):
                break
            _stop(process)
            if attempt == 2 or "address already in use" not in log_tail(log).lower():
                pytest.fail(f"Alertmanager did not become ready at {url} (exit code "
                            f"{process.returncode}); log tail:\n{log_tail(log)}", pytrace=False)
        yield Alertmanager(url=url, log=log, process=process)
    finally:
        if process is not None:
            _stop(process)


def _wait_ready(process: subprocess.Popen, url: str) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    with http() as s:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            if _ok(s, f"{url}/-/ready"):
                return True
            time.sleep(0.1)
    return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
