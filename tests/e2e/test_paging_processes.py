"""Paging with real processes: `vigil up` (gunicorn, a Celery worker with beat) on the test's
database and broker (embedded by default, PostgreSQL + Redis when VIGIL_TEST_DATABASE_URL and
VIGIL_TEST_BROKER_URL say so), with Twilio and Slack pointed at the loopback fakes.

An alert out of hours pages the on-call engineer by SMS and Slack; nobody answers, so the next
step pages Lee; Lee replies "a" by SMS (signed as Twilio would) and nothing more is sent.
The real clock runs: escalation steps are seconds long and the engine ticks twice a second.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from incidents.models import EscalationPolicy, Rotation, RotationMember, Setting, User
from tests.e2e.conftest import free_port, http, log_tail, wait_until
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.fakes.twilio_server import FROM_NUMBER

pytestmark = pytest.mark.e2e

BROKER = os.environ.get("VIGIL_TEST_BROKER_URL")
ANA, LEE, VIV = "+15005550001", "+15005550004", "+15005550009"
TICK = 0.5
FIRST_STEP, SECOND_STEP = 3, 6  # escalate_after, seconds
START_TIMEOUT = 90.0
TICK_RAN = re.compile(r"Task engine\.tick\[[-0-9a-f]+\] succeeded")


def _configure(session) -> None:
    """Ana is this week's out-of-hours on-call; then Lee; then Viv. Today is a holiday, so the
    real current time is outside working hours whatever the hour."""
    now = datetime.now(timezone.utc)
    today = now.date()
    users = {
        "ana": User(email="ana@ops.example", name="Ana Silva", role="ops_engineer", phone=ANA,
                    slack_user_id="U0ANA", created_at=now),
        "lee": User(email="lee@ops.example", name="Lee Mensah", role="admin", phone=LEE,
                    slack_user_id="U0LEE", created_at=now),
        "viv": User(email="viv@ops.example", name="Viv Amari", role="ops_engineer", phone=VIV,
                    slack_user_id="U0VIV", created_at=now),
    }
    session.add_all(users.values())
    rotation = Rotation(name="out-of-hours", timezone="UTC", handoff_weekday=0, handoff_time="09:00",
                        start_date=today - timedelta(days=today.weekday() + 14), created_at=now)
    rotation.members = [RotationMember(position=0, user=users["ana"])]
    session.add(rotation)
    session.add(Setting(key="working_hours", value={
        "timezone": "UTC", "days": [0, 1, 2, 3, 4, 5, 6], "start": "09:00", "end": "17:00",
        "holidays": [(today + timedelta(days=d)).isoformat() for d in (-1, 0, 1)]}))
    session.add(EscalationPolicy(name="default", repeat=0, defer_classes=[3], steps=[
        {"targets": ["rotation:triage"], "channels": ["slack", "sms"], "escalate_after": 60,
         "when": "working_hours"},
        {"targets": ["rotation:out-of-hours"], "channels": ["sms", "slack"], "escalate_after": FIRST_STEP,
         "when": "outside_working_hours"},
        {"targets": ["user:lee@ops.example"], "channels": ["sms", "slack"], "escalate_after": SECOND_STEP},
        {"targets": ["user:viv@ops.example"], "channels": ["sms", "slack"], "escalate_after": 60},
    ]))
    session.commit()


class Vigil:
    """`python -m incidents.cli up` as a child process; its output goes to a log file."""

    def __init__(self, env: dict[str, str], cwd: Path, port: int):
        self.env, self.cwd, self.port = env, cwd, port
        self.base = f"http://127.0.0.1:{port}"
        self.log = cwd / "vigil-up.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Vigil":
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "incidents.cli", "up", "--port", str(self.port), "--web-workers", "1"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd)
        return self

    def alive(self) -> None:
        assert self.proc.poll() is None, f"vigil up exited with {self.proc.returncode}:\n{log_tail(self.log)}"

    def stop(self) -> None:
        """Ctrl-C, as a person stops it; killed (with its children's sessions) if that hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            _kill_children_of(self.proc.pid)


def _kill_children_of(pid: int) -> None:
    """`vigil up` starts its children in their own sessions; find them by parent id."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            try:
                os.killpg(child, signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture
def vigil(app, database_url, session, make, fake_twilio, fake_slack, tmp_path):
    """The data set up, then `vigil up` started against the fakes; stopped at the end, with its
    log attached to a failure."""
    make.rules()
    service = make.service()
    _configure(session)
    service.service.escalation_policy_id = session.query(EscalationPolicy.id).scalar()
    session.commit()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update({
        "DATABASE_URL": database_url,
        "VIGIL_INSTANCE_PATH": str(tmp_path / "instance"),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ENGINE_TICK_SECONDS": str(TICK),
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid, "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_URL": fake_twilio.url,
        "SLACK_BOT_TOKEN": fake_slack.token, "SLACK_SIGNING_SECRET": fake_slack.signing_secret,
        "SLACK_API_URL": fake_slack.url,
    })
    env.pop("CELERY_BROKER_URL", None)
    if BROKER:
        env["CELERY_BROKER_URL"] = BROKER
    live = Vigil(env, tmp_path, port).start()
    try:
        yield live, service.keys["generic"]
    finally:
        live.stop()
        # pytest shows a test's captured output only when it fails.
        print(f"--- vigil up log ({live.log}) ---\n{log_tail(live.log, 200)}")


def _ready(s: requests.Session, vigil: Vigil) -> bool:
    vigil.alive()
    try:
        return s.get(f"{vigil.base}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _first_at(fake, predicate) -> float | None:
    with fake.lock:
        return next((r.at for r in fake.requests if predicate(r)), None)


def _sms_to(fake_twilio, number: str) -> list[str]:
    with fake_twilio.lock:
        return [m.body for m in fake_twilio.messages if m.to == number]


def _posts_to(fake_slack, channel: str) -> list:
    with fake_slack.lock:
        return [m for m in fake_slack.posts if m.channel == channel]


def test_alert_pages_escalates_and_an_sms_reply_stops_it(vigil, fake_twilio, fake_slack):
    live, key = vigil
    s = http()

    def seen() -> str:
        return (f"SMS {[(m.to, m.body[:30]) for m in fake_twilio.messages]}, "
                f"Slack {[(m.channel, m.text[:30]) for m in fake_slack.posts]}; "
                f"log tail:\n{log_tail(live.log, 40)}")

    wait_until(lambda: _ready(s, live), timeout=START_TIMEOUT, what="vigil up to be ready", describe=seen)
    # The worker is up when it has run the beat's tick (which writes nothing while all is quiet,
    # so look for it in the log).
    wait_until(lambda: live.alive() or TICK_RAN.search(live.log.read_text(errors="replace")),
               timeout=START_TIMEOUT, what="the worker to run the engine tick", describe=seen)

    response = s.post(f"{live.base}/api/v1/alerts", headers={"Authorization": f"Bearer {key}"},
                      json={"summary": "Checkout is down", "severity": "critical", "dedup_key": "checkout-down"},
                      timeout=10)
    accepted = time.time()
    assert response.status_code == 202, response.text
    incident_id = response.json()["alerts"][0]["incident_id"]

    # Ana, on call out of hours, gets an SMS and a Slack DM.
    wait_until(lambda: _sms_to(fake_twilio, ANA) and _posts_to(fake_slack, "D0ANA"), timeout=15,
               what="the first pages to Ana", describe=seen, interval=0.02)
    sms_at = _first_at(fake_twilio, lambda r: r.path.endswith("/Messages.json"))
    slack_at = _first_at(fake_slack, lambda r: r.path == "/api/chat.postMessage")
    print(f"\nfirst page after the 202: SMS {1000 * (sms_at - accepted):.0f} ms, "
          f"Slack {1000 * (slack_at - accepted):.0f} ms")
    [to_ana] = _sms_to(fake_twilio, ANA)
    assert to_ana.startswith(f"Vigil #{incident_id} C1 acme: Checkout is down.")
    assert _posts_to(fake_slack, "D0ANA")[0].action_ids() == ["ack", "resolve", "escalate"]
    assert _sms_to(fake_twilio, LEE) == []

    # Nobody answers: after the first step's 3 s, Lee is paged.
    wait_until(lambda: _sms_to(fake_twilio, LEE) and _posts_to(fake_slack, "D0LEE"),
               timeout=FIRST_STEP + 10, what="the second step's pages to Lee", describe=seen, interval=0.05)
    lee_paged = time.time()
    print(f"second step after the 202: {lee_paged - accepted:.1f} s (due after {FIRST_STEP} s)")
    [to_lee] = _sms_to(fake_twilio, LEE)
    assert f"#{incident_id}" in to_lee
    assert len(_sms_to(fake_twilio, ANA)) == 1 and len(_posts_to(fake_slack, "D0ANA")) == 1

    # Lee answers "a" by SMS, signed as Twilio signs it.
    reply = fake_twilio.send_sms(f"{live.base}/webhooks/twilio/sms", from_=LEE, body="a", timeout=10)
    assert reply.status_code == 200, reply.text
    assert f"<Message>#{incident_id} acknowledged</Message>" in reply.text
    assert time.time() - lee_paged < SECOND_STEP, "too slow to answer before the third step; the test is flaky"

    # Past the moment Viv would have been paged, and a few ticks more: nothing else went out.
    time.sleep(max(0.0, lee_paged + SECOND_STEP - time.time()) + 6 * TICK)
    assert _sms_to(fake_twilio, VIV) == [] and _posts_to(fake_slack, "D0VIV") == [], seen()
    assert len(fake_twilio.messages) == 2 and len(fake_slack.posts) == 2, seen()
    # Lee's acknowledgement shows on the Slack pages (chat.update), without an Acknowledge button.
    wait_until(lambda: all(m.history and "ack" not in m.action_ids() for m in fake_slack.posts), timeout=10,
               what="the Slack pages to be updated", describe=seen)
    live.alive()
