"""The breach playbook's "done when", on `vigil up --sample` as a user runs it: real processes, real
broker (embedded or Redis), e-mail into an SMTP sink and SMS into the fake Twilio.

The admin signs in through the printed link, opens the sample's security breach, starts the
playbook with an authenticator code and follows the run page: every customer contact gets the
notice, every step is done, an API key made before the run and the integration key that fired
the sample alert are refused afterwards, and the new keys wait to be shown. The playbook ends the
admin's own session too, so the admin comes back through the reset letter it mailed. Then a drill
from /playbook notifies only the drill recipient and leaves a report.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time

import pyotp
import pytest
import requests
from sqlalchemy import select

from incidents.models import Customer, Incident, RegulatorClock
from incidents.services.playbook.rotators.sessions import SUBJECT as RESET_SUBJECT
from tests.console.conftest import csrf_from
from tests.fakes.fixtures import fake_twilio  # noqa: F401
from tests.fakes.smtp import smtp_sink  # noqa: F401
from tests.fakes.twilio_server import FROM_NUMBER
from tests.test_up import (BREACH_TITLE, _get, _sign_in_link, number_of, sample_incidents,  # noqa: F401
                           vigil_up, wait_for)

ADMIN = "lee@ops.example"
ADMIN_PHONE = "+15005550004"  # the sample's Lee Mensah, the only drill recipient
NOTICE_SUBJECT = "Security incident notice"
STEPS = ["notify_customers", "vigil_api_keys", "vigil_integration_keys", "user_sessions"]
RUN_TIMEOUT = 45.0
TOTP_STEP = 30


@pytest.fixture
def up_env(fake_twilio, smtp_sink) -> dict[str, str]:  # noqa: F811
    return {"SMTP_URL": f"smtp://127.0.0.1:{smtp_sink.port}?from=vigil@vigil.test",
            "TWILIO_ACCOUNT_SID": fake_twilio.account_sid, "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
            "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_URL": fake_twilio.url}


def test_an_admin_declares_a_breach_on_the_sample_and_a_drill_leaves_a_report(vigil_up, session, smtp_sink,
                                                                              fake_twilio):  # noqa: F811
    proc, base, log, env = vigil_up
    link = wait_for(lambda: _sign_in_link(proc, log), 90, "the first admin's sign-in link")
    breach = number_of(sample_incidents(log.read_text()), BREACH_TITLE)
    wait_for(lambda: _get(requests, f"{base}/readyz").status_code == 200, 90, "/readyz")
    assert _incident(session, breach) == (1, "security_breach", True)  # the regulator's clock runs

    integration_key = _fire_the_suggested_alert(log.read_text())
    api_key = _create_api_key(env, tmp=log.parent)
    assert _api(base, api_key).status_code == 200

    browser = requests.Session()
    password, recovery = _first_sign_in(browser, base, link)
    page = browser.get(f"{base}/incidents/{breach}", timeout=10)
    assert "Start breach playbook" in page.text
    started = browser.post(f"{base}/incidents/{breach}/breach-playbook", timeout=10, data={
        "csrf_token": csrf_from(page.text), "summary": "Someone signed in to the Acme admin panel",
        "actions": "ending every session and replacing every key", "code": _code(browser.totp, 0)})
    assert started.status_code == 200 and "Breach playbook started" in started.text, started.text[-2000:]
    run_page = started.url
    assert re.fullmatch(rf"{base}/playbook/runs/\d+", run_page)

    done = _follow(browser, run_page, comeback=lambda: _back_with_the_reset_letter(browser, base, smtp_sink,
                                                                                  password, recovery))
    assert _step_states(done) == ["done"] * len(STEPS), done
    assert "Show new keys" in done
    contacts = [c for customer in session.scalars(select(Customer)) for c in customer.contacts]
    notices = [r for r in smtp_sink.received if r.message["Subject"] == NOTICE_SUBJECT]
    assert sorted(a for r in notices for a in r.rcpt_tos) == sorted(c["email"] for c in contacts if c.get("email"))
    for phone in [c["phone"] for c in contacts if c.get("phone")]:
        [sms] = fake_twilio.bodies_to(phone)
        assert "security incident" in sms
    assert _api(base, api_key).status_code == 401  # the old keys are dead
    assert _fire(log.read_text(), integration_key).status_code == 401

    drill = _start_drill(browser, base)
    report = _follow(browser, drill, comeback=None)
    assert "Report" in report and "Time to notify all customers" in report
    assert _step_states(report) == ["done"] * len(STEPS)
    drill_mail = [r for r in smtp_sink.received if r.message["Subject"] == f"[Drill] {NOTICE_SUBJECT}"]
    assert [r.rcpt_tos for r in drill_mail] == [(ADMIN,)]
    assert any(body.startswith("This is a drill") for body in fake_twilio.bodies_to(ADMIN_PHONE))
    assert len([r for r in smtp_sink.received if r.message["Subject"] == NOTICE_SUBJECT]) == len(notices)


# -- the admin in the console ----------------------------------------------------------------------

def _first_sign_in(browser, base: str, link: str) -> tuple[str, list[str]]:
    """The printed link, a password, the second factor: (password, recovery codes); the
    authenticator's secret is kept on the browser as `totp`."""
    page = browser.get(link, timeout=10)
    password = "Copper-Kettle-Sings-7"
    browser.post(link, data={"csrf_token": csrf_from(page.text), "password": password, "confirm": password},
                 timeout=10)
    _password_step(browser, base, password)
    enrol = browser.get(f"{base}/login/enrol", timeout=10)
    browser.totp = pyotp.TOTP(re.search(r'<code class="secret">(\w+)</code>', enrol.text).group(1))
    # The previous step's code: the next two codes this test needs are then the current and the next.
    codes = browser.post(f"{base}/login/enrol", data={"csrf_token": csrf_from(enrol.text),
                                                      "code": _code(browser.totp, -TOTP_STEP)}, timeout=10)
    assert "recovery codes" in codes.text, codes.text[-2000:]
    return password, re.findall(r"<li><code>([\w-]+)</code></li>", codes.text)


def _password_step(browser, base: str, password: str) -> None:
    login = browser.get(f"{base}/login", timeout=10)
    browser.post(f"{base}/login", data={"csrf_token": csrf_from(login.text), "email": ADMIN, "password": password},
                 timeout=10)


def _code(totp: pyotp.TOTP, offset: int) -> str:
    """The authenticator's code `offset` seconds from now, never in the last seconds of a step, so
    the server (which allows one step either way) sees it within its window."""
    wait_for(lambda: time.time() % TOTP_STEP < TOTP_STEP - 2, TOTP_STEP, "a fresh authenticator step")
    return totp.at(time.time() + offset)


def _follow(browser, url: str, *, comeback) -> str:
    """The run page, reloaded until the run has stopped; `comeback` signs in again when the run
    has ended this session (its user_sessions step)."""
    def stopped():
        page = browser.get(url, timeout=10, allow_redirects=False)
        if page.status_code == 302 and "/login" in page.headers["Location"] and comeback:
            comeback()
            return None
        assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
        state = re.search(r'<dd id="run-state"><span class="badge run-(\w+)">', page.text).group(1)
        assert state != "failed", page.text
        return page.text if state == "done" else None

    return wait_for(stopped, RUN_TIMEOUT, f"the run at {url} to finish")


def _back_with_the_reset_letter(browser, base, sink, old_password: str, recovery: list[str]) -> None:
    [letter] = _letters(sink)
    assert letter.rcpt_tos == (ADMIN,)
    link = re.search(r"(\S+/reset/\S+)", letter.message.get_content()).group(1)
    page = browser.get(link, timeout=10)
    password = old_password + "-after-breach"
    browser.post(link, data={"csrf_token": csrf_from(page.text), "password": password, "confirm": password},
                 timeout=10)
    _password_step(browser, base, password)
    factor = browser.get(f"{base}/login/second-factor", timeout=10)
    # A recovery code: the authenticator's next code is kept for the drill.
    signed_in = browser.post(f"{base}/login/second-factor", timeout=10,
                             data={"csrf_token": csrf_from(factor.text), "code": recovery.pop()})
    assert "You signed in with a recovery code" in signed_in.text, signed_in.text[-2000:]


def _letters(sink) -> list:
    return wait_for(lambda: [r for r in sink.received if r.message["Subject"] == RESET_SUBJECT], 20,
                    "the reset letter")


def _start_drill(browser, base: str) -> str:
    page = browser.get(f"{base}/playbook", timeout=10)
    # The next step's code: the playbook was started with the current one.
    started = browser.post(f"{base}/playbook/drills", timeout=10, data={
        "csrf_token": csrf_from(page.text), "summary": "Quarterly breach drill",
        "code": _code(browser.totp, TOTP_STEP)})
    assert "Drill started" in started.text, started.text[-2000:]
    return started.url


def _step_states(page: str) -> list[str]:
    return re.findall(r'<li class="playbook-step step-(\w+)"', page)


# -- keys and the database -------------------------------------------------------------------------

def _fire_the_suggested_alert(printed: str) -> str:
    key = re.search(r"-H 'Authorization: Bearer (\w+)'", printed).group(1)
    response = _fire(printed, key)
    assert response.status_code == 202, response.text
    return key


def _fire(printed: str, key: str):
    url = re.search(r"curl -sS -X POST (\S+) -H", printed).group(1)
    return requests.post(url, json={"summary": "Checkout is down", "source": "curl", "severity": "critical"},
                         headers={"Authorization": f"Bearer {key}"}, timeout=10)


def _create_api_key(env: dict[str, str], *, tmp) -> str:
    done = subprocess.run([sys.executable, "-m", "incidents.cli", "create-api-key", "--name", "before-breach",
                           "--scope", "read"], env=env, cwd=tmp, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _api(base: str, key: str):
    return requests.get(f"{base}/api/v1/incidents", headers={"Authorization": f"Bearer {key}"}, timeout=10)


def _incident(session, number: int) -> tuple[int, str, bool]:
    """(class, category, whether the regulator's clock runs) as the server committed them."""
    session.rollback()
    incident = session.get(Incident, number)
    seen = (incident.severity_class, incident.category, session.get(RegulatorClock, number) is not None)
    session.rollback()
    return seen
