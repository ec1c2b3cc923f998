"""The README's first command: `vigil up --sample` serves the API, runs the worker, and the alert
it tells the user to fire opens an incident; the sign-in link it prints makes the sample's admin
the first console user, who finds the sample incidents there. Real processes, real broker
(embedded or Redis)."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pyotp
import pytest
import requests
from celery import Celery

from tests.console.conftest import csrf_from

BROKER = os.environ.get("VIGIL_TEST_BROKER_URL")
BREACH_TITLE = "Unauthorized access to the Acme admin panel from an unknown address"


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
def up_env() -> dict[str, str]:
    """Settings added to `vigil up`'s environment; a module overrides this fixture to give providers."""
    return {}


@pytest.fixture
def vigil_up(app, database_url, tmp_path, up_env):
    """`vigil up --sample` as a user runs it; stopped with Ctrl-C (SIGINT) at the end."""
    port = free_port()
    env = {**os.environ, "VIGIL_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database_url,
           "PUBLIC_URL": f"http://127.0.0.1:{port}", **up_env}
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


def test_the_printed_link_makes_the_first_admin_who_acknowledges_a_sample_incident(vigil_up, session):
    proc, base, log, env = vigil_up
    link = wait_for(lambda: _sign_in_link(proc, log), 90, "the first admin's sign-in link")
    assert link.startswith(f"{base}/invite/")
    printed = log.read_text()
    assert "That is lee@ops.example from the sample" in printed
    opened = sample_incidents(printed)
    assert [severity for severity, _ in opened.values()] == [1, 1, 2, 3], printed[-3000:]
    outage = number_of(opened, "Checkout API unreachable from the eu-west probe")
    breach = number_of(opened, BREACH_TITLE)
    assert f"The security breach #{breach} has the regulator's 72 h clock running" in printed
    assert "python -m tests.fakes" in printed  # no SMTP_URL or Twilio here: where to get local ones

    browser = requests.Session()
    wait_for(lambda: _get(browser, f"{base}/readyz").status_code == 200, 90, "/readyz")
    page = browser.get(link, timeout=10)
    assert page.status_code == 200 and "lee@ops.example" in page.text
    password = "Copper-Kettle-Sings-7"
    done = browser.post(link, data={"csrf_token": csrf_from(page.text), "password": password, "confirm": password},
                        allow_redirects=False, timeout=10)
    assert done.status_code == 302
    assert browser.get(link, timeout=10).status_code == 410  # it worked once
    token = link.rsplit("/", 1)[1]
    wait_for(lambda: log.read_text().count('"GET /invite/…"') == 2, 10, "the access log lines")
    assert log.read_text().count(token) == 1  # printed for the user; the access log leaves it out

    login = browser.get(f"{base}/login", timeout=10)
    step = browser.post(f"{base}/login", data={"csrf_token": csrf_from(login.text), "email": "lee@ops.example",
                                               "password": password}, allow_redirects=False, timeout=10)
    assert step.headers["Location"].endswith("/login/enrol")
    enrol = browser.get(f"{base}/login/enrol", timeout=10)
    secret = re.search(r'<code class="secret">(\w+)</code>', enrol.text).group(1)
    codes = browser.post(f"{base}/login/enrol", data={"csrf_token": csrf_from(enrol.text),
                                                      "code": pyotp.TOTP(secret).now()}, timeout=10)
    assert codes.status_code == 200 and "recovery codes" in codes.text
    now = browser.get(f"{base}/", timeout=10)
    assert now.status_code == 200
    for title in opened:
        assert title in now.text

    # The outage pages people until someone acknowledges it; acknowledging stops the escalation.
    state, next_at = _escalation(session, outage)
    assert state == "active" and next_at is not None
    incident = browser.get(f"{base}/incidents/{outage}", timeout=10)
    acked = browser.post(f"{base}/incidents/{outage}/acknowledge", data={"csrf_token": csrf_from(incident.text)},
                         timeout=10)
    assert acked.status_code == 200 and "Acknowledged by lee@ops.example" in acked.text
    assert _escalation(session, outage) == ("stopped", None)


def sample_incidents(printed: str) -> dict[str, tuple[int, int]]:
    """{title: (severity class, number)} from what `vigil up --sample` printed, in its order."""
    listed = printed.split("Opened sample incidents:\n", 1)[-1]
    return {title: (int(severity), int(number))
            for number, severity, title in re.findall(r"^  #(\d+) class (\d): (.+)$", listed, re.MULTILINE)}


def number_of(opened: dict[str, tuple[int, int]], title: str) -> int:
    assert title in opened, f"no sample incident {title!r} among {list(opened)}"
    return opened[title][1]


def _escalation(session, incident_id: int) -> tuple[str, object]:
    """(state, next_at) as the server committed it; no read transaction is left open."""
    from incidents.models import Escalation
    session.rollback()
    row = session.get(Escalation, incident_id)
    state = (row.state, row.next_at)
    session.rollback()
    return state


def _get(browser, url):
    try:
        return browser.get(url, timeout=5)
    except requests.RequestException:
        return requests.Response()


def _sign_in_link(proc, log) -> str | None:
    assert proc.poll() is None, "vigil up exited early:\n" + log.read_text()[-3000:]
    match = re.search(r"Sign in as the first admin: open (\S+) to choose a password \(works once, 7 days\)",
                      log.read_text())
    return match.group(1) if match else None


def test_what_vigil_up_says_about_signing_in(test_config, make, session, clock):
    from incidents.cli.up_cmd import _first_admin
    from incidents.domain.enums import Role

    said = _first_admin(test_config, sample=False)
    assert "No admin can sign in yet" in said and "vigil create-user EMAIL --role admin" in said
    make.user("lee@ops.example", Role.ADMIN)  # from the sample: no password yet
    assert "vigil create-user EMAIL --role admin" in _first_admin(test_config, sample=False)
    assert "Sign in as the first admin: open http://vigil.test/invite/" in _first_admin(test_config, sample=True)
    make.console_user("lee@ops.example", Role.ADMIN)
    assert _first_admin(test_config, sample=True) == "Sign in at http://vigil.test/login"
