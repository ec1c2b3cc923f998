"""SLA warnings and the breach with real processes and a clock the test moves.

`vigil up` (gunicorn, a Celery worker with beat) runs on the test's database and broker with
Twilio and Slack pointed at the loopback fakes, under libfaketime: every process of it reads the
time as the real time plus an offset the test writes to a file (FAKETIME_TIMESTAMP_FILE, read on
every call). One clock for web and worker alike, as if the world moved on: the intake stamps
`opened_at` and the engine's sweep judges it by the same clock. Monotonic clocks stay real, so
timeouts and gunicorn's worker heartbeat (time.monotonic against the heartbeat file's mtime, which
it sets itself) are untouched by the jumps. (Faking them as well is no way out: with libfaketime
0.9.10 threading waits on a faked monotonic clock hang.)

Acme buys a 60-minute response for class 1. An alert opens a class-1 incident and pages Ana, who
is on call; nobody answers. Past 50% and again past 80% of the deadline Ana (the current step's
target) and Tia (on triage) are warned by SMS and Slack; past the deadline the incident is
breached, the next step pages Lee at once and Ada, the admin, is told. The engine ticks twice a
second throughout, and each warning still reaches each person once per channel.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from incidents.models import EscalationPolicy, Rotation, RotationMember, User
from tests.e2e.conftest import free_port, http, log_tail, wait_until
from tests.e2e.test_paging_processes import BROKER, START_TIMEOUT, TICK, TICK_RAN, Vigil
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.fakes.twilio_server import FROM_NUMBER

pytestmark = pytest.mark.e2e

DEADLINE = 60  # minutes: Acme's class-1 response time
LONG = 2 * 3600  # seconds: no step escalates by itself within the test
PEOPLE = {  # name: (phone, Slack user id, role)
    "ana": ("+15005550001", "U0ANA", "ops_engineer"),
    "lee": ("+15005550004", "U0LEE", "ops_engineer"),
    "viv": ("+15005550009", "U0VIV", "ops_engineer"),
    "tia": ("+15005550012", "U0TIA", "ops_engineer"),
    "ada": ("+15005550015", "U0ADA", "admin"),
}
QUIET_TICKS = 6  # how many more engine ticks must pass without anything more being sent
WAIT = 20.0  # seconds for the engine to react to a moved clock (it ticks every TICK)


# libfaketime 0.9.10 (Debian 12) breaks clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) when
# the monotonic clock is not faked: the kernel gets a negative time, and Python 3.11's time.sleep,
# which sleeps exactly that way, raises "OSError: [Errno 22] Invalid argument" (wolfcw/libfaketime
# issue 426, fixed after 0.9.10). Loaded as sitecustomize in the processes under test, this sleeps
# with select's relative timeout instead; nothing of Vigil's is touched.
SLEEP_SHIM = """\
import select, time


def _sleep(seconds):
    select.select([], [], [], seconds)


time.sleep = _sleep
"""


class MovableClock:
    """The offset libfaketime adds to the real time in the processes started with `env()`."""

    def __init__(self, library: str, workdir: Path):
        self.library, self.path, self.shim = library, workdir / "faketime", workdir / "faketime-shim"
        self.shim.mkdir()
        (self.shim / "sitecustomize.py").write_text(SLEEP_SHIM)
        self.move(minutes=0)

    def env(self) -> dict[str, str]:
        python_path = os.pathsep.join(filter(None, [str(self.shim), os.environ.get("PYTHONPATH")]))
        return {"LD_PRELOAD": self.library, "FAKETIME_TIMESTAMP_FILE": str(self.path),
                "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1", "PYTHONPATH": python_path}

    def move(self, *, minutes: int) -> None:
        """From now on the processes' time is the real time plus `minutes`; written whole (a
        rename), so no process reads half a file."""
        draft = self.path.with_suffix(".new")
        draft.write_text(f"+{minutes}m\n")
        os.replace(draft, self.path)


def _configure(session, make) -> str:
    """Acme's service paged by a policy of Ana (on call), then Lee, then Viv; Tia on triage; Ada
    the admin. Returns the generic integration key."""
    make.rules()
    acme = make.customer("acme", sla_minutes={"1": DEADLINE})
    service = make.service("checkout", customer=acme)
    now = datetime.now(timezone.utc)
    users = {name: User(email=f"{name}@ops.example", name=name.title(), role=role, phone=phone,
                        slack_user_id=slack, created_at=now)
             for name, (phone, slack, role) in PEOPLE.items()}
    session.add_all(users.values())
    for rotation, person in (("on-call", "ana"), ("triage", "tia")):
        row = Rotation(name=rotation, timezone="UTC", handoff_weekday=0, handoff_time="09:00",
                       start_date=now.date() - timedelta(days=14), created_at=now)
        row.members = [RotationMember(position=0, user=users[person])]
        session.add(row)
    policy = EscalationPolicy(name="default", repeat=0, defer_classes=[], steps=[
        {"targets": [target], "channels": ["sms", "slack"], "escalate_after": LONG}
        for target in ("rotation:on-call", "user:lee@ops.example", "user:viv@ops.example")])
    session.add(policy)
    session.flush()
    service.service.escalation_policy_id = policy.id
    session.commit()
    return service.keys["generic"]


@pytest.fixture
def sla_vigil(app, database_url, session, make, fake_twilio, fake_slack, libfaketime, tmp_path):
    """The data set up, then `vigil up` on a movable clock against the fakes; stopped at the
    end, with its log printed (pytest shows it when the test fails)."""
    key = _configure(session, make)
    read_key = make.api_key("read")
    clock = MovableClock(libfaketime, tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("CELERY_BROKER_URL", None)
    env.update({
        "DATABASE_URL": database_url,
        "VIGIL_INSTANCE_PATH": str(tmp_path / "instance"),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ENGINE_TICK_SECONDS": str(TICK),
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid, "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_URL": fake_twilio.url,
        "SLACK_BOT_TOKEN": fake_slack.token, "SLACK_SIGNING_SECRET": fake_slack.signing_secret,
        "SLACK_API_URL": fake_slack.url,
        **({"CELERY_BROKER_URL": BROKER} if BROKER else {}),
        **clock.env(),
    })
    live = Vigil(env, tmp_path, port).start()
    try:
        yield live, clock, key, read_key
    finally:
        live.stop()
        print(f"--- vigil up log ({live.log}) ---\n{log_tail(live.log, 200)}")


class Watch:
    """What the fakes received, per person and channel, and the engine's ticks in the log."""

    def __init__(self, live: Vigil, fake_twilio, fake_slack):
        self.live, self.twilio, self.slack = live, fake_twilio, fake_slack

    def sms(self, name: str) -> list[str]:
        return self.twilio.bodies_to(PEOPLE[name][0])

    def slack_dms(self, name: str) -> list[str]:
        return [m.text for m in self.slack.in_channel("D" + PEOPLE[name][1][1:])]

    def counts(self) -> dict[str, tuple[int, int]]:
        """name: (SMS received, Slack DMs received)."""
        return {name: (len(self.sms(name)), len(self.slack_dms(name))) for name in PEOPLE}

    def ticks(self) -> int:
        return len(TICK_RAN.findall(self.live.log.read_text(errors="replace")))

    def seen(self) -> str:
        return f"{self.counts()}; log tail:\n{log_tail(self.live.log, 40)}"

    def until_counts(self, expected: dict[str, tuple[int, int]], what: str) -> None:
        """Wait until the fakes received exactly `expected` (others: nothing), then for a few
        more ticks, after which it must still be exactly that: nothing twice."""
        want = {name: expected.get(name, (0, 0)) for name in PEOPLE}
        wait_until(lambda: self.live.alive() or self.counts() == want, timeout=WAIT, what=what,
                   describe=self.seen, interval=0.05)
        later = self.ticks() + QUIET_TICKS
        wait_until(lambda: self.live.alive() or self.ticks() >= later, timeout=WAIT,
                   what=f"{QUIET_TICKS} more engine ticks", describe=self.seen)
        assert self.counts() == want, f"after {what}, more was sent: {self.seen()}"


def test_warnings_page_ahead_of_the_deadline_and_the_breach_at_it(sla_vigil, fake_twilio, fake_slack):
    live, clock, key, read_key = sla_vigil
    watch = Watch(live, fake_twilio, fake_slack)
    api = Api(live.base, read_key)
    wait_until(lambda: live.alive() or api.ready(), timeout=START_TIMEOUT, what="vigil up to be ready",
               describe=watch.seen)
    wait_until(lambda: live.alive() or watch.ticks(), timeout=START_TIMEOUT,
               what="the worker to run the engine tick", describe=watch.seen)

    incident_id = api.alert(key, {"summary": "Checkout is down", "severity": "critical", "dedup_key": "down"})
    watch.until_counts({"ana": (1, 1)}, "the first step's page to Ana")
    incident = api.incident(incident_id)
    opened, due = (_at(incident[k]) for k in ("opened_at", "response_due_at"))
    assert incident["severity_class"] == 1 and due - opened == timedelta(minutes=DEADLINE), incident
    assert incident["breached_at"] is None and api.events(incident_id, "sla_") == []

    # Past half the response time: Ana, whom the escalation pages now, and Tia on triage.
    clock.move(minutes=31)
    watch.until_counts({"ana": (2, 2), "tia": (1, 1)}, "the 50% warnings")
    [warning] = api.events(incident_id, "sla_")
    assert warning["kind"] == "sla_warning" and warning["data"] == {
        "share": 0.5, "warned": ["Ana by SMS and Slack", "Tia by SMS and Slack"]}, warning
    assert warning["message"].startswith("SLA warning: 50% of the response time used"), warning
    assert _at(warning["at"]) < due
    [to_tia] = watch.sms("tia")
    assert to_tia.startswith(f"Vigil SLA warning #{incident_id} C1 acme: Checkout is down. Respond by "), to_tia
    assert api.incident(incident_id)["breached_at"] is None

    # Past 80%: the second warning, to the same two.
    clock.move(minutes=49)
    watch.until_counts({"ana": (3, 3), "tia": (2, 2)}, "the 80% warnings")
    first, second = api.events(incident_id, "sla_")
    assert first == warning and second["kind"] == "sla_warning" and second["data"]["share"] == 0.8, second
    assert _at(second["at"]) < due and api.incident(incident_id)["breached_at"] is None

    # Past the deadline: breached as of the deadline, Ada (the admin) told, Lee (the next step,
    # an hour and more away by the policy) paged at once.
    clock.move(minutes=DEADLINE + 1)
    watch.until_counts({"ana": (3, 3), "tia": (2, 2), "lee": (1, 1), "ada": (1, 1)},
                       "the breach: Ada told, Lee paged")
    assert _at(api.incident(incident_id)["breached_at"]) == due
    *_, breach = api.events(incident_id, "sla_")
    assert breach["kind"] == "sla_breached" and breach["data"]["told"] == ["Ada by SMS and Slack"], breach
    assert _at(breach["at"]) >= due
    paged = [(e["message"], e["at"]) for e in api.events(incident_id, "paged")]
    assert [m for m, _ in paged] == ["Paging Ana by SMS and Slack (step 1)", "Paging Lee by SMS and Slack (step 2)"]
    assert _at(paged[-1][1]) >= _at(breach["at"]), paged
    assert watch.sms("ada")[0].startswith(f"Vigil SLA BREACHED #{incident_id} C1 acme:"), watch.sms("ada")
    assert watch.sms("lee")[0].startswith(f"Vigil #{incident_id} C1 acme:"), watch.sms("lee")
    live.alive()


class Api:
    """Vigil's HTTP API as the test uses it."""

    def __init__(self, base: str, read_key: str):
        self.base, self.read_key, self.http = base, read_key, http()

    def ready(self) -> bool:
        try:
            return self.http.get(f"{self.base}/readyz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet
            return False

    def alert(self, key: str, alert: dict) -> int:
        r = self.http.post(f"{self.base}/api/v1/alerts", headers={"Authorization": f"Bearer {key}"},
                           json=alert, timeout=10)
        assert r.status_code == 202, r.text
        return r.json()["alerts"][0]["incident_id"]

    def incident(self, incident_id: int) -> dict:
        return self._get(f"/api/v1/incidents/{incident_id}")

    def events(self, incident_id: int, kind: str) -> list[dict]:
        """The incident's timeline entries whose kind starts with `kind`, oldest first."""
        items = self._get(f"/api/v1/incidents/{incident_id}/timeline")["items"]
        return [e for e in items if e["kind"].startswith(kind)]

    def _get(self, path: str) -> dict:
        r = self.http.get(self.base + path, headers={"Authorization": f"Bearer {self.read_key}"}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)
