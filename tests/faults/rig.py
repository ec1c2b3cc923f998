"""The fault test's world: Vigil's web (gunicorn) and worker (Celery with beat) as separate process
groups on private PostgreSQL and Redis, the fake Twilio and Slack noting when each page arrived,
and a thread posting alerts at a steady rate, noting every answer."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import requests

from incidents.cli.up_cmd import ACCESS_LOG
from tests.e2e.conftest import http, log_tail
from tests.e2e.test_paging_processes import Vigil
from tests.fakes.slack_server import FakeSlack
from tests.fakes.twilio_server import FROM_NUMBER, FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"#(\d+)\b")
STEPS, ESCALATE_AFTER, TICK = 2, 2, 0.5  # two steps of 2 s, each one person by SMS and Slack


# -- the fakes, with the time each page arrived ----------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    at: float
    channel: str
    address: str  # phone number or Slack DM channel
    incident: int | None


class TimedTwilio(FakeTwilio):
    def __init__(self):
        super().__init__()
        self.receipts: list[Receipt] = []

    def _accept(self, form):
        message = super()._accept(form)
        found = NUMBER.search(message.body)
        self.receipts.append(Receipt(time.time(), "sms", message.to, int(found[1]) if found else None))
        return message


class TimedSlack(FakeSlack):
    def __init__(self):
        super().__init__()
        self.receipts: list[Receipt] = []

    def _chat_postMessage(self, request, params):
        answer = super()._chat_postMessage(request, params)
        if answer.get("ok"):
            found = NUMBER.search(answer["message"]["text"])
            self.receipts.append(Receipt(time.time(), "slack", answer["channel"], int(found[1]) if found else None))
        return answer


class Fakes:
    def __init__(self):
        self.twilio, self.slack = TimedTwilio().start(), TimedSlack().start()

    def receipts(self) -> list[Receipt]:
        with self.twilio.lock, self.slack.lock:
            return sorted(self.twilio.receipts + self.slack.receipts, key=lambda r: r.at)

    def env(self) -> dict[str, str]:
        return {"TWILIO_ACCOUNT_SID": self.twilio.account_sid, "TWILIO_AUTH_TOKEN": self.twilio.auth_token,
                "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_URL": self.twilio.url,
                "SLACK_BOT_TOKEN": self.slack.token, "SLACK_SIGNING_SECRET": self.slack.signing_secret,
                "SLACK_API_URL": self.slack.url}

    def stop(self) -> None:
        self.twilio.stop()
        self.slack.stop()


# -- the data --------------------------------------------------------------------------------------

def seed(url: str) -> str:
    """Critical alerts are class 1; one service whose policy pages an on-call person (a one-member
    rotation), then a named user, each by SMS and Slack, ESCALATE_AFTER seconds apart. No working
    hours: every moment counts. Returns the generic integration key."""
    from incidents import clock
    from incidents.db import make_engine, make_sessionmaker
    from incidents.models import (ClassificationRule, Customer, EscalationPolicy, Rotation, RotationMember,
                                  Service, User)
    from incidents.services import integrations

    engine, now = make_engine(url), clock.now()
    try:
        with make_sessionmaker(engine)() as session:
            session.add_all([
                ClassificationRule(position=0, name="critical", severity_class=1, category="outage",
                                   match={"severity": ["critical"]}),
                ClassificationRule(position=1, name="else", severity_class=3, category="defect", match={})])
            people = [User(email=f"p{i}@ops.example", name=f"Person {i}", role="ops_engineer",
                           phone=f"+1500555{i:04d}", slack_user_id=f"U0P{i:04d}", created_at=now)
                      for i in range(STEPS)]
            session.add_all(people)
            today = now.date()
            rotation = Rotation(name="oncall", timezone="UTC", handoff_weekday=0, handoff_time="00:00",
                                start_date=today - timedelta(days=today.weekday() + 7), created_at=now)
            rotation.members = [RotationMember(position=0, user=people[0])]
            steps = [{"targets": ["rotation:oncall" if i == 0 else f"user:{p.email}"], "channels": ["sms", "slack"],
                      "escalate_after": ESCALATE_AFTER} for i, p in enumerate(people)]
            policy = EscalationPolicy(name="default", repeat=0, defer_classes=[], steps=steps)
            customer = Customer(slug="acme", name="Acme", sla_minutes={}, contacts=[], created_at=now)
            session.add_all([rotation, policy, customer])
            session.flush()
            service = Service(name="checkout", customer=customer, auto_resolve=True, created_at=now,
                              escalation_policy_id=policy.id)
            session.add(service)
            _, key = integrations.create(session, service=service, name="faults", type="generic")
            session.commit()
    finally:
        engine.dispose()
    return key


# -- processes -------------------------------------------------------------------------------------

class Part(Vigil):
    """The web or the worker in a process group of its own (as `vigil up` starts them), so a
    SIGKILL takes the worker's pool and beat with it and leaves the web serving."""

    def __init__(self, env, cwd: Path, port: int, name: str, argv: list[str]):
        super().__init__(env, cwd, port)
        self.name, self.argv, self.log = name, argv, cwd / f"{name}.log"

    def start(self) -> "Part":
        with open(self.log, "ab") as out:
            self.offset = out.seek(0, 2)
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env, cwd=ROOT, start_new_session=True)
        return self

    def output(self) -> str:
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


class Stack:
    def __init__(self, database_url: str, broker_url: str, fakes: Fakes, workdir: Path, port: int):
        self.workdir, self.port, self.base = workdir, port, f"http://127.0.0.1:{port}"
        self.env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.env.update(DATABASE_URL=database_url, CELERY_BROKER_URL=broker_url, PUBLIC_URL=self.base,
                        VIGIL_INSTANCE_PATH=str(workdir / "instance"), ENGINE_TICK_SECONDS=str(TICK),
                        PYTHONUNBUFFERED="1", SMS_PER_MINUTE="100000", **fakes.env())
        self.web: Part | None = None
        self.workers: list[Part] = []
        self.lock = threading.Lock()  # held while the test itself kills and restarts the worker
        self.crashes: list[tuple[float, str]] = []  # (when, why) the worker exited on its own
        self._watching = threading.Event()

    def supervise(self) -> None:
        """Restart a worker that exits on its own, 1 s later, as systemd's Restart=always does
        (docs/deploy.md); each such exit is noted with the last line it logged."""
        def watch():
            while not self._watching.wait(0.2):
                with self.lock:
                    if self.worker.proc.poll() is None:
                        continue
                    lines = [line for line in self.worker.output().splitlines()
                             if "CRITICAL" in line or "Error" in line]
                    self.crashes.append((time.time(), (lines or ["(no error logged)"])[0][:200]))
                    time.sleep(1)
                    self.start_worker()
        threading.Thread(target=watch, name="supervisor", daemon=True).start()

    def start_web(self) -> Part:
        argv = [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                "--threads", "4", "--access-logfile", "-", "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s',
                "--logger-class", ACCESS_LOG]
        self.web = Part(self.env, self.workdir, self.port, "web", argv).start()
        return self.web

    def start_worker(self) -> Part:
        n = len(self.workers)
        argv = [sys.executable, "-m", "celery", "-A", "workers.main", "worker", "--beat", "--hostname",
                f"faults-{n}@%h", "--schedule", str(self.workdir / "celerybeat-schedule"), "--loglevel", "INFO",
                "--concurrency", "2", "--without-mingle", "--without-gossip"]
        worker = Part(self.env, self.workdir, self.port, "worker", argv).start()
        self.workers.append(worker)
        return worker

    @property
    def worker(self) -> Part:
        return self.workers[-1]

    def web_ready(self) -> bool:
        self.web.alive()
        try:
            return http().get(f"{self.base}/readyz", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    def worker_ready(self) -> bool:
        return self.worker.proc.poll() is None and " ready." in self.worker.output()

    def stop(self) -> None:
        self._watching.set()
        for part in [*self.workers, self.web]:
            if part is not None:
                part.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {name}.log ---\n{log_tail(self.workdir / f'{name}.log', 80)}"
                         for name in ("web", "worker"))


# -- the alerts ------------------------------------------------------------------------------------

@dataclass
class Post:
    at: float
    dedup_key: str
    status: int | None  # None: no answer (connection error)
    retry_after: str | None = None
    incident_id: int | None = None
    detail: str = ""
    answered: float = 0.0


@dataclass
class AlertFlow:
    """Posts a new critical alert (a new incident) every `interval` seconds until stopped."""

    base: str
    key: str
    interval: float = 0.5
    posts: list[Post] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "AlertFlow":
        self.thread = threading.Thread(target=self._run, name="alert-flow", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        s, n, next_at = http(), 0, time.monotonic()
        while not self._stop.is_set():
            self.posts.append(self._post(s, f"fault-{n}"))
            n += 1
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _post(self, s: requests.Session, dedup_key: str) -> Post:
        at = time.time()
        try:
            r = s.post(f"{self.base}/api/v1/alerts", headers={"Authorization": f"Bearer {self.key}"}, timeout=15,
                       json={"summary": f"Fault test {dedup_key}: checkout is down", "severity": "critical",
                             "dedup_key": dedup_key})
        except requests.RequestException as exc:
            return Post(at, dedup_key, None, detail=exc.__class__.__name__, answered=time.time())
        incident = r.json()["alerts"][0]["incident_id"] if r.status_code == 202 else None
        return Post(at, dedup_key, r.status_code, r.headers.get("Retry-After"), incident, r.text[:200], time.time())
