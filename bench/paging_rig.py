"""What the paging benchmarks share: a fresh PostgreSQL database with users, a rotation and an
escalation policy; Vigil as separate processes (gunicorn, Celery worker(s), Celery beat) on Redis;
the loopback fakes of Twilio and Slack (tests/fakes) with the time each page arrived; and
appending a section to bench/RESULTS.md.

Everything listens on 127.0.0.1. Every process is started in a session of its own, so it can be
SIGKILLed with its children (a Celery worker's pool) without touching the others, and `Stack.stop`
always ends them all.
"""
from __future__ import annotations

import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_server import FakeSlack  # noqa: E402
from tests.fakes.twilio_server import FROM_NUMBER, FakeTwilio  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
NUMBER = re.compile(r"#(\d+)\b")


# --- the database -------------------------------------------------------------------------------

def fresh_database(database: str, pg: str = PG) -> str:
    """Drop and create `database` (never `test`), migrate it; the URL Vigil uses."""
    import psycopg

    if database in ("test", "postgres"):
        raise SystemExit(f"refusing to drop the database {database!r}")
    with psycopg.connect(pg + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    url = pg.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + database
    from incidents.migrate import upgrade

    upgrade(url)
    return url


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    phone: str
    slack: str  # Slack user id; the fake delivers a post to it in DM channel "D" + slack[1:]

    @property
    def dm(self) -> str:
        return "D" + self.slack[1:]


def people(count: int, prefix: str = "p") -> list[Person]:
    return [Person(f"{prefix}{i}@ops.example", f"Person {prefix}{i}", f"+1500555{i:04d}", f"U0{prefix.upper()}{i:04d}")
            for i in range(count)]


def seed(url: str, *, steps: list[list[Person]], escalate_after: float | list[float], repeat: int = 0,
         services: int = 1) -> list[str]:
    """Classification rules (critical -> class 1), a customer, `services` services with a generic
    integration each (their keys are returned), users for everyone in `steps`, and one policy
    `default` whose step i pages steps[i] by SMS and Slack after the previous step's
    `escalate_after` (one number for all steps, or one per step). The first step's first person is on
    call through a one-member rotation, the rest are named users. No working hours: every moment
    counts as working time, and no step has a `when`."""
    from datetime import timedelta

    from incidents import clock
    from incidents.db import make_engine, make_sessionmaker
    from incidents.models import (ClassificationRule, Customer, EscalationPolicy, Rotation, RotationMember,
                                  Service, User)
    from incidents.services import integrations

    engine = make_engine(url)
    now = clock.now()
    keys = []
    try:
        with make_sessionmaker(engine)() as session:
            session.add(ClassificationRule(position=0, name="critical from monitoring", severity_class=1,
                                           category="outage", match={"severity": ["critical"]}))
            session.add(ClassificationRule(position=1, name="everything else", severity_class=3,
                                           category="defect", match={}))
            users = {}
            for person in {p for step in steps for p in step}:
                users[person] = User(email=person.email, name=person.name, role="ops_engineer",
                                     phone=person.phone, slack_user_id=person.slack, created_at=now)
            session.add_all(users.values())
            today = now.date()
            rotation = Rotation(name="bench-oncall", timezone="UTC", handoff_weekday=0, handoff_time="00:00",
                                start_date=today - timedelta(days=today.weekday() + 7), created_at=now)
            rotation.members = [RotationMember(position=0, user=users[steps[0][0]])]
            session.add(rotation)
            policy_steps = []
            for i, step in enumerate(steps):
                targets = [f"user:{p.email}" for p in step]
                if i == 0:
                    targets[0] = "rotation:bench-oncall"
                after = escalate_after[i] if isinstance(escalate_after, list) else escalate_after
                policy_steps.append({"targets": targets, "channels": ["sms", "slack"], "escalate_after": after})
            policy = EscalationPolicy(name="default", repeat=repeat, defer_classes=[], steps=policy_steps)
            customer = Customer(slug="acme", name="Acme Retail", sla_minutes={}, contacts=[], created_at=now)
            session.add_all([policy, customer])
            session.flush()
            for n in range(services):
                service = Service(name=f"svc{n}", customer=customer, auto_resolve=True, created_at=now,
                                  escalation_policy_id=policy.id)
                session.add(service)
                _, key = integrations.create(session, service=service, name="bench", type="generic")
                keys.append(key)
            session.commit()
    finally:
        engine.dispose()
    return keys


# --- the fakes, with arrival times ----------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    at: float  # time.time() when the fake accepted it
    channel: str  # sms | slack
    address: str  # phone number, or the Slack DM channel
    incident: int | None
    text: str


def _no_nagle(fake):
    """The fakes answer with two writes (headers, then body); with Nagle's algorithm and the client's
    delayed ACK that costs 40 ms on some answers, which the real APIs do not add."""
    fake._server.RequestHandlerClass.disable_nagle_algorithm = True
    return fake


class TimedTwilio(FakeTwilio):
    def __init__(self):
        super().__init__()
        self.receipts: list[Receipt] = []

    def start(self):
        return _no_nagle(super().start())

    def _accept(self, form):
        message = super()._accept(form)
        found = NUMBER.search(message.body)
        self.receipts.append(Receipt(time.time(), "sms", message.to, int(found[1]) if found else None, message.body))
        return message


class TimedSlack(FakeSlack):
    def __init__(self):
        super().__init__()
        self.receipts: list[Receipt] = []

    def start(self):
        return _no_nagle(super().start())

    def _chat_postMessage(self, request, params):
        answer = super()._chat_postMessage(request, params)
        if answer.get("ok"):
            found = NUMBER.search(answer["message"]["text"])
            self.receipts.append(Receipt(time.time(), "slack", answer["channel"],
                                         int(found[1]) if found else None, answer["message"]["text"]))
        return answer


class Fakes:
    def __init__(self):
        self.twilio = TimedTwilio().start()
        self.slack = TimedSlack().start()

    def receipts(self) -> list[Receipt]:
        with self.twilio.lock, self.slack.lock:
            return sorted(self.twilio.receipts + self.slack.receipts, key=lambda r: r.at)

    def count(self) -> int:
        with self.twilio.lock, self.slack.lock:
            return len(self.twilio.receipts) + len(self.slack.receipts)

    def errors(self) -> list[str]:
        return self.twilio.take_errors() + self.slack.take_errors()

    def env(self) -> dict[str, str]:
        return {"TWILIO_ACCOUNT_SID": self.twilio.account_sid, "TWILIO_AUTH_TOKEN": self.twilio.auth_token,
                "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_URL": self.twilio.url,
                "SLACK_BOT_TOKEN": self.slack.token, "SLACK_SIGNING_SECRET": self.slack.signing_secret,
                "SLACK_API_URL": self.slack.url}

    def stop(self) -> None:
        self.twilio.stop()
        self.slack.stop()


# --- processes ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proc:
    """A child in its own session (process group = its pid), output to a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path):
        self.name, self.command, self.env, self.log = name, command, env, log
        self.started = time.time()
        with open(log, "ab") as out:
            out.write(f"\n=== {name} started {datetime.now(timezone.utc):%H:%M:%S.%f} ===\n".encode())
            out.flush()
            self.offset = out.tell()
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        """What this run of the process wrote (the log is shared by its restarts)."""
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern)
        while time.monotonic() < deadline:
            if compiled.search(self.output()):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail(self.output())}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no {pattern!r} after {timeout:.0f} s:\n{tail(self.output())}")

    def kill(self) -> None:
        """SIGKILL to the whole group: the process and its children die where they stand."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()  # and anything it left behind in its group


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """Vigil as separate processes: gunicorn, Celery worker(s) and Celery beat."""

    database_url: str
    broker_url: str
    workdir: Path
    fakes: Fakes
    tick: float = 0.5
    web_workers: int = 2
    concurrency: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    procs: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(DATABASE_URL=self.database_url, CELERY_BROKER_URL=self.broker_url,
                   VIGIL_INSTANCE_PATH=str(self.workdir / "instance"), PUBLIC_URL=self.url,
                   ENGINE_TICK_SECONDS=str(self.tick), PYTHONUNBUFFERED="1", **self.fakes.env(),
                   **self.extra_env)
        return env

    def _start(self, name: str, command: list[str], log: str) -> Proc:
        proc = Proc(name, command, self.env, self.workdir / log)
        self.procs.append(proc)
        return proc

    def start_web(self) -> Proc:
        web = self._start("gunicorn", [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind",
                                       f"127.0.0.1:{self.port}", "--workers", str(self.web_workers),
                                       "--worker-class", "sync", "--log-level", "warning",
                                       "--graceful-timeout", "5"], "web.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if web.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{tail(web.output())}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return web
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready:\n{tail(web.output())}")

    def start_worker(self, n: int = 0, *, wait: bool = True) -> Proc:
        worker = self._start(f"worker{n}", [sys.executable, "-m", "celery", "-A", "workers.main", "worker",
                                            "-n", f"w{n}@%h", "--loglevel", "INFO", "--concurrency",
                                            str(self.concurrency), "--without-mingle", "--without-gossip"],
                             f"worker{n}.log")
        self.workers.append(worker)
        if wait:
            worker.wait_for(r"celery@\S+ ready\.|w\d+@\S+ ready\.", 60)
        return worker

    def start_beat(self) -> Proc:
        beat = self._start("beat", [sys.executable, "-m", "celery", "-A", "workers.main", "beat", "--schedule",
                                    str(self.workdir / "celerybeat-schedule"), "--loglevel", "INFO"], "beat.log")
        beat.wait_for(r"beat: Starting", 60)
        return beat

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def cpu_seconds(stack: "Stack") -> dict[str, float]:
    """CPU time used so far (user + system, seconds) by each kind of process: gunicorn, worker,
    beat (by process group), PostgreSQL and Redis (by name), and this script with its other children
    (fakes, load generator). Children that ended count only in "bench" (their parent reaped them).
    "machine" is the whole machine's busy time, so other programs' share can be told apart."""
    ticks = os.sysconf("SC_CLK_TCK")
    groups = {proc.pid: proc.name.rstrip("0123456789") for proc in stack.procs if proc.process.poll() is None}
    used: dict[str, float] = defaultdict(float)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        ppid, pgrp, cpu = int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / ticks
        pid = int(stat.parent.name)
        if pgrp in groups:
            used[groups[pgrp]] += cpu
        elif name.startswith("postgres"):
            used["postgresql"] += cpu
        elif name.startswith("redis"):
            used["redis"] += cpu
        elif pid == os.getpid():  # with children that ended (a load generator)
            used["bench"] += cpu + (int(fields[13]) + int(fields[14])) / ticks
        elif ppid == os.getpid():  # a load generator still running
            used["bench"] += cpu
    busy = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    used["machine"] = sum(int(busy[i]) for i in (0, 1, 2, 5, 6, 7)) / ticks  # all but idle and iowait
    return dict(used)


def flush_broker(url: str) -> None:
    """Empty the benchmark's own Redis database: a message left by an earlier run names rows of a
    database that was dropped since."""
    import redis

    redis.Redis.from_url(url).flushdb()


# --- reporting ------------------------------------------------------------------------------------

def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown")
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kib = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpus} CPUs ({model}), {kib / 1024 / 1024:.1f} GiB RAM, {platform.system()} {platform.release()}"


def versions() -> str:
    import celery
    import kombu
    import psycopg
    import redis

    with psycopg.connect(PG + "/postgres") as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    info = redis.Redis(host="127.0.0.1").info("server")
    return (f"Python {platform.python_version()}, PostgreSQL {pg}, Redis {info.get('redis_version')}, "
            f"Celery {celery.__version__}, kombu {kombu.__version__}")


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "alerts", "incidents", "workers",
                                "config.py", "wsgi.py"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return head + (" with uncommitted changes to the app" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(heading: str, text: str, path: Path = RESULTS) -> None:
    """Append `text` under `## heading`: re-read just before writing, append only; the heading is
    added when the file's last section is another one."""
    existing = path.read_text() if path.exists() else ""
    sections = re.findall(r"^## (.+)$", existing, flags=re.M)
    block = text.rstrip("\n") + "\n"
    if not sections or sections[-1].strip() != heading:
        block = f"## {heading}\n\n" + block
    with open(path, "a") as f:
        if not existing:
            f.write("# Benchmark results\n\nAppended by the scripts in bench/; newest last. See bench/README.md.\n")
        f.write(("\n" if existing.endswith("\n") or not existing else "\n\n") + block)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


class Watchdog:
    """Ends the script (via KeyboardInterrupt in the main thread, so `finally` clauses stop the
    processes) when it runs longer than `seconds`."""

    def __init__(self, seconds: float):
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True
        self.fired = False

    def _fire(self) -> None:
        self.fired = True
        print("watchdog: time is up; stopping", file=sys.stderr)
        os.kill(os.getpid(), signal.SIGINT)

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
