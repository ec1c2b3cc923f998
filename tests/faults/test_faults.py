"""Faults with real processes: while alerts flow (a new incident every half second) and escalate
(two steps of 2 s, each paging one person by SMS and Slack), the worker is SIGKILLed, Redis and
PostgreSQL are restarted, and the fake Twilio and Slack answer 500, 429 with Retry-After, time
out and refuse connections. Nothing accepted may be lost, no page may be lost or doubled outside
the documented window, and pages flow again within 30 s of each fault clearing.

VIGIL_FAULT_KILLS (default 3, in CI 1) sets how many times the worker is killed; VIGIL_WRITE_FIGURES=1
writes the figures into docs/reliability.md (CI leaves the committed figures alone).
"""
from __future__ import annotations

import os
import platform
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from tests.e2e.conftest import IN_CI, wait_until
from tests.faults.figures import Phase, count, table

pytestmark = pytest.mark.faults

KILLS = int(os.environ.get("VIGIL_FAULT_KILLS", "1" if IN_CI else "3"))  # CI: one of each fault
WRITE = os.environ.get("VIGIL_WRITE_FIGURES") == "1"
DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
RECOVERY_LIMIT = 30.0  # the promise: pages flow again within 30 s of a fault clearing
PG_DOWN, REDIS_DOWN, REFUSED, HANG = 5.0, 2.0, 3.0, 12.0  # seconds; HANG is past the providers' 10 s timeout
CALM = 3.0  # seconds of normal work between faults


class Runner:
    def __init__(self, world):
        self.w, self.phases = world, []

    def phase(self, name: str) -> Phase:
        self.phases.append(Phase(name, time.time()))
        return self.phases[-1]

    def recover(self, phase: Phase) -> None:
        """Wait (at most 60 s) for the first page after the fault cleared, then a calm spell."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and phase.recovered is None:
            phase.recovered = next((r.at for r in self.w.fakes.receipts() if r.at > phase.cleared), None)
            time.sleep(0.05)
        time.sleep(CALM)

    def kill_worker(self, n: int) -> None:
        phase = self.phase(f"worker SIGKILLed ({n} of {KILLS})")
        with self.w.stack.lock:
            self.w.stack.worker.kill()
            phase.kills.append(time.time())
            time.sleep(0.5)
            phase.cleared = time.time()
            self.w.stack.start_worker()
        wait_until(self.w.stack.worker_ready, timeout=90, what="the new worker", describe=self.w.stack.logs)
        self.recover(phase)

    def restart_redis(self) -> None:
        phase = self.phase(f"Redis restarted (down {REDIS_DOWN:g} s, queued messages lost)")
        self.w.redis.stop()
        time.sleep(REDIS_DOWN)
        self.w.redis.start()
        phase.cleared = time.time()
        self.recover(phase)

    def stop_postgres(self) -> tuple[float, float]:
        phase = self.phase(f"PostgreSQL stopped for {PG_DOWN:g} s")
        self.w.pg.stop()
        down = time.time()
        time.sleep(PG_DOWN)
        up = time.time()
        self.w.pg.start()
        phase.cleared = time.time()
        self.recover(phase)
        return down, up

    def provider(self, name: str, script, fakes) -> None:
        phase = self.phase(name)
        script()
        wait_until(lambda: not any(f.scripted for f in fakes), timeout=60, what=f"{name}: the scripted faults played")
        phase.cleared = time.time()
        self.recover(phase)

    def refuse(self) -> None:
        phase = self.phase(f"Twilio and Slack refuse connections ({REFUSED:g} s)")
        self.w.fakes.twilio.stop()
        self.w.fakes.slack.refuse_for(REFUSED)
        self.w.fakes.twilio.start()
        phase.cleared = time.time()
        self.recover(phase)

    def settle(self) -> str | None:
        """The flow has stopped: wait (at most 90 s) until every escalation has run out and no page
        waits. None when settled, else what still waits."""
        deadline = time.monotonic() + 90
        while True:
            waiting = _waiting(self.w.pg.dsn)
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(2 * 0.5 + 1)  # anything still in flight arrives now, or never
        return waiting or None


def _crashes(phases: list[Phase], crashes: list[tuple[float, str]]) -> str:
    if not crashes:
        return "\n\nThe worker never exited on its own."
    def during(at):
        return next(p.name for p in reversed(phases) if p.started <= at)
    return "\n\nThe worker exited on its own, restarted 1 s later as systemd would:\n\n" + "\n".join(
        f"- during \"{during(at)}\": `{why.split('] ', 1)[-1]}`" for at, why in crashes)


def _waiting(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        pages = conn.execute("SELECT id, incident_id, channel, status, attempts, next_attempt_at, deadline_at, error "
                             "FROM pages WHERE status IN ('pending', 'sending', 'held') ORDER BY id").fetchall()
        escalations = conn.execute("SELECT incident_id, step, state, next_at FROM escalations "
                                   "WHERE state IN ('active', 'deferred') ORDER BY next_at").fetchall()
    if not pages and not escalations:
        return ""
    return (f"{len(pages)} pages waiting, first {pages[:5]}; {len(escalations)} escalations running, "
            f"first {escalations[:5]}; now {datetime.now(timezone.utc):%H:%M:%S}")


def test_nothing_accepted_or_paged_is_lost_through_faults(world):
    twilio, slack = world.fakes.twilio, world.fakes.slack
    run = Runner(world)
    started = datetime.now(timezone.utc)
    world.stack.supervise()
    world.flow.start()
    run.phase("no fault (baseline)")
    time.sleep(2 * CALM)
    for n in range(1, KILLS + 1):
        run.kill_worker(n)
    run.restart_redis()
    pg_down, pg_up = run.stop_postgres()
    run.provider("Twilio and Slack answer 500 (3 times each)",
                 lambda: (twilio.fail_next(500, times=3), slack.fail_next(500, times=3)), [twilio, slack])
    run.provider("Twilio and Slack answer 429, Retry-After: 1 (3 times each)",
                 lambda: (twilio.fail_next(429, retry_after=1, times=3), slack.fail_next(429, retry_after=1, times=3)),
                 [twilio, slack])
    run.provider(f"Twilio and Slack time out (answer after {HANG:g} s, once each)",
                 lambda: (twilio.hang_next(HANG), slack.hang_next(HANG)), [twilio, slack])
    run.refuse()
    world.flow.stop()
    end = time.time()
    unsettled = run.settle()

    figures = count(run.phases, world.flow.posts, world.fakes.receipts(), world.pg.dsn, end)
    text = table(figures) + _crashes(run.phases, world.stack.crashes)
    print("\n" + text)
    if WRITE:
        _write(text, started, time.time() - started.timestamp())

    assert unsettled is None, f"the engine did not settle: {unsettled}"
    while_down = [p for p in world.flow.posts if p.at >= pg_down and p.answered <= pg_up]
    assert while_down, "no alert was posted while PostgreSQL was down"
    assert all(p.status == 503 and p.retry_after for p in while_down), \
        [(p.dedup_key, p.status, p.retry_after) for p in while_down if p.status != 503 or not p.retry_after]
    problems = {f.name: {"other answers": f.other[:5], "accepted, not recorded": f.accepted - f.recorded,
                         "lost pages": f.lost[:5], "doubled outside the window": f.doubled_outside,
                         "recovery": f.recovery}
                for f in figures
                if f.other or f.accepted != f.recorded or f.lost or f.doubled_outside
                or (f.recovery is None and f is not figures[0]) or (f.recovery or 0) > RECOVERY_LIMIT}
    assert not problems, problems
    errors = twilio.take_errors() + slack.take_errors()
    assert not errors, errors


def _write(text: str, started: datetime, seconds: float) -> None:
    """Replace the figures between the markers in docs/reliability.md with this run's."""
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=DOC.parent).stdout.strip() or "unknown"
    block = (f"{MARK_START}\nRun of {started:%Y-%m-%d %H:%M} UTC, commit {commit}, {seconds:.0f} s in all, on "
             f"{os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}; the worker killed "
             f"{KILLS} times.\n\n{text}\n{MARK_END}")
    doc = DOC.read_text()
    DOC.write_text(re.sub(f"{re.escape(MARK_START)}.*?{re.escape(MARK_END)}", lambda _: block, doc, flags=re.S))


MARK_START, MARK_END = "<!-- fault figures: start -->", "<!-- fault figures: end -->"
