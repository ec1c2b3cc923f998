#!/usr/bin/env python
"""Kill test: SIGKILL the Celery worker while 200 incidents escalate, then count every page.

    .venv/bin/python bench/paging_kill.py                 # the standard run (about 1.5 minutes)
    .venv/bin/python bench/paging_kill.py --no-record     # without appending to RESULTS.md

1. Drops and creates the PostgreSQL database `vigil_bench_kill` (127.0.0.1:5432, user postgres),
   migrates it, and seeds a policy of 3 steps x 2 s (step 1: the on-call person of a rotation,
   steps 2 and 3: named users; each paged by SMS and Slack); empties its own Redis database
   (redis://127.0.0.1:6379/11).
2. Starts the loopback fakes of Twilio and Slack (tests/fakes) and Vigil as separate processes:
   gunicorn, `celery -A workers.main beat`, `celery -A workers.main worker` (each in its own
   session, so the worker and its pool can be SIGKILLed without touching beat).
3. Posts 200 critical alerts (one incident each) spread over 30 s, and meanwhile SIGKILLs the
   worker with its pool 5 times, each time after 3-5 s of work, restarting it 0.5 s after the kill
   (a worker needs about 3 s to boot, so it is down about 40% of the time).
4. Waits until the engine has settled (every escalation exhausted, no page pending, sending or
   held), then compares what the fakes received per (incident, step, person, channel) with the
   outbox rows: none may be missing; a page received twice is allowed only in the documented
   window (the provider accepted it and the worker died before recording it, so the row stayed
   `sending` past its deadline and the sweep sent it again).
5. Appends the figures to bench/RESULTS.md under "Paging: kill test". The exit status is 1 when a
   page is missing or doubled outside the window.

SMS_PER_MINUTE is raised for the run: a storm bundle is one SMS for several incidents and could
not be attributed to one (incident, step); bundling has tests of its own.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import paging_rig as rig  # noqa: E402

HEADING = "Paging: kill test"


def arguments(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--incidents", type=int, default=200)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--escalate-after", type=float, default=2.0, help="seconds per step")
    p.add_argument("--spread", type=float, default=30.0, help="seconds over which the alerts are posted")
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--kill-every", type=float, nargs=2, default=(3.0, 5.0), metavar=("MIN", "MAX"),
                   help="seconds of work (from the restarted worker's `ready`) before the next kill")
    p.add_argument("--restart-delay", type=float, default=0.5)
    p.add_argument("--workers", type=int, default=1, help="worker processes; each kill picks one")
    p.add_argument("--concurrency", type=int, default=2, help="pool processes per worker")
    p.add_argument("--tick", type=float, default=0.5, help="ENGINE_TICK_SECONDS")
    p.add_argument("--settle-timeout", type=float, default=120.0)
    p.add_argument("--timeout", type=float, default=600.0, help="the whole run, seconds")
    p.add_argument("--database", default="vigil_bench_kill")
    p.add_argument("--broker", default="redis://127.0.0.1:6379/11")
    p.add_argument("--seed", type=int, default=None, help="random seed for the kill times")
    p.add_argument("--note", default="")
    p.add_argument("--no-record", action="store_true")
    return p.parse_args(argv)


@dataclass
class Kill:
    at: float
    worker: str
    restarted: float = 0.0
    ready: float = 0.0
    first_page_after: float | None = None


@dataclass
class Run:
    accepted: dict[int, float] = field(default_factory=dict)  # incident id -> time of the 202
    refused: list[str] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    past_deadline: dict[int, float] = field(default_factory=dict)  # page id -> first seen sending past deadline
    settled_at: float | None = None
    started: float = 0.0


def post_alerts(url: str, key: str, count: int, spread: float, run: Run) -> None:
    import requests

    s = requests.Session()
    s.trust_env = False
    start = time.time()
    for i in range(count):
        delay = start + i * spread / count - time.time()
        if delay > 0:
            time.sleep(delay)
        try:
            r = s.post(f"{url}/api/v1/alerts", headers={"Authorization": f"Bearer {key}"}, timeout=10,
                       json={"summary": f"Kill test {i}: checkout is down", "severity": "critical",
                             "dedup_key": f"kill-{i}"})
        except requests.RequestException as exc:
            run.refused.append(f"alert {i}: {exc.__class__.__name__}")
            continue
        if r.status_code != 202:
            run.refused.append(f"alert {i}: {r.status_code} {r.text[:100]}")
            continue
        run.accepted[r.json()["alerts"][0]["incident_id"]] = time.time()


def monitor(dsn: str, run: Run, stop: threading.Event) -> None:
    """Every 0.1 s: which pages are `sending` past their deadline (a worker died holding them)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            for (page_id,) in conn.execute(
                    "SELECT id FROM pages WHERE status = 'sending' AND deadline_at < now()").fetchall():
                run.past_deadline.setdefault(page_id, time.time())
            stop.wait(0.1)


def engine_state(dsn: str) -> tuple[int, int, int]:
    """(escalations still active or deferred, pages pending/sending/held, incidents)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        active = conn.execute("SELECT count(*) FROM escalations WHERE state IN ('active', 'deferred')").fetchone()[0]
        busy = conn.execute("SELECT count(*) FROM pages WHERE status IN ('pending', 'sending', 'held')").fetchone()[0]
        incidents = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
    return active, busy, incidents


def main(argv=None) -> int:
    args = arguments(argv)
    rng = random.Random(args.seed)
    started = datetime.now(timezone.utc)
    steps = [[p] for p in rig.people(args.steps, "k")]
    database_url = rig.fresh_database(args.database)
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    [key] = rig.seed(database_url, steps=steps, escalate_after=args.escalate_after)
    rig.flush_broker(args.broker)
    run = Run()
    stop = threading.Event()
    fakes = rig.Fakes()
    workdir = Path(tempfile.mkdtemp(prefix="vigil-kill-"))
    stack = rig.Stack(database_url, args.broker, workdir, fakes, tick=args.tick, concurrency=args.concurrency,
                      extra_env={"SMS_PER_MINUTE": "100000"})
    print(f"logs in {workdir}")
    try:
        with rig.Watchdog(args.timeout):
            stack.start_web()
            stack.start_beat()
            workers = [stack.start_worker(n) for n in range(args.workers)]
            watcher = threading.Thread(target=monitor, args=(dsn, run, stop), daemon=True)
            watcher.start()
            poster = threading.Thread(target=post_alerts, args=(stack.url, key, args.incidents, args.spread, run),
                                      daemon=True)
            run.started = time.time()
            poster.start()
            next_kill = run.started + rng.uniform(*args.kill_every)
            for k in range(args.kills):
                time.sleep(max(0.0, next_kill - time.time()))
                n = rng.randrange(len(workers))
                victim = workers[n]
                kill = Kill(time.time(), victim.name)
                victim.kill()
                print(f"kill {k + 1}: SIGKILL {victim.name} (pid {victim.pid}) at +{kill.at - run.started:.1f} s")
                time.sleep(args.restart_delay)
                kill.restarted = time.time()
                workers[n] = stack.start_worker(n, wait=False)
                workers[n].wait_for(r"@\S+ ready\.", 60)
                kill.ready = time.time()
                run.kills.append(kill)
                # The next kill after 3-5 s of work: a worker that keeps crashing, but gets work done.
                next_kill = kill.ready + rng.uniform(*args.kill_every)
            poster.join(timeout=args.spread + 60)
            print(f"{len(run.accepted)} incidents opened, {len(run.refused)} alerts refused; waiting to settle")
            deadline = time.monotonic() + args.settle_timeout
            while time.monotonic() < deadline:
                active, busy, incidents = engine_state(dsn)
                if active == 0 and busy == 0 and incidents >= len(run.accepted):
                    run.settled_at = time.time()
                    break
                time.sleep(0.2)
            time.sleep(3 * args.tick + 1)  # anything still in flight arrives now, or never
            stop.set()
    finally:
        stop.set()
        stack.stop()
        fakes.stop()
    report, ok = analyse(args, run, dsn, fakes, started)
    print(report)
    if not args.no_record:
        rig.record(HEADING, report)
        print(f"appended to {rig.RESULTS}")
    return 0 if ok else 1


def analyse(args, run: Run, dsn: str, fakes: rig.Fakes, started: datetime) -> tuple[str, bool]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id, incident_id, step, cycle, recipient, channel, address, status, attempts, "
                            "extract(epoch FROM created_at), extract(epoch FROM sent_at) FROM pages").fetchall()
        states = Counter(s for (s,) in conn.execute("SELECT state FROM escalations"))
    receipts = fakes.receipts()
    errors = fakes.errors()

    def address(channel: str, raw: str) -> str:
        return "D" + raw[1:] if channel == "slack" and raw.startswith("U") else raw

    pages = {}
    for (pid, incident, step, cycle, recipient, channel, addr, status, attempts, created, sent) in rows:
        pages[(incident, channel, address(channel, addr))] = dict(
            id=pid, incident=incident, step=step, cycle=cycle, channel=channel, status=status, attempts=attempts,
            created=float(created), sent=float(sent) if sent is not None else None)
    got = defaultdict(list)
    for r in receipts:
        got[(r.incident, r.channel, r.address)].append(r.at)

    due = {k: p for k, p in pages.items() if p["status"] != "cancelled"}
    missing = [k for k in due if not got.get(k)]
    extra = [k for k in got if k not in pages]
    doubled = {k: got[k] for k in due if len(got.get(k, [])) > 1}
    kills = [k.at for k in run.kills]
    explained, unexplained = [], []
    for k, times in sorted(doubled.items()):
        page = due[k]
        first, second = times[0], times[1]
        kill_after = min((t - first for t in kills if t >= first - 0.05), default=None)
        in_window = (page["attempts"] >= 2 and kill_after is not None and kill_after < 2.0)
        line = (f"page {page['id']} (incident {page['incident']}, step {page['step'] + 1}, {page['channel']}): "
                f"received {len(times)}x, {second - first:.1f} s apart; worker killed {max(kill_after, 0):.3f} s after "
                f"the first receipt" if kill_after is not None else "no kill after the first receipt")
        line += (f"; claimed {page['attempts']}x; seen `sending` past its deadline: "
                 f"{'yes' if page['id'] in run.past_deadline else 'no'}")
        (explained if in_window else unexplained).append(line)

    expected = len(run.accepted) * args.steps * 2
    statuses = Counter(p["status"] for p in pages.values())
    # Lateness: a step's pages are written when it is due (the previous step's + escalate_after).
    by_incident = defaultdict(dict)
    for p in pages.values():
        by_incident[p["incident"]].setdefault(p["step"], p["created"])
    step_late = []
    for incident, created in by_incident.items():
        for step, at in created.items():
            if step > 0 and step - 1 in created:
                step_late.append(at - created[step - 1] - args.escalate_after)
    first_page = []
    for incident, t202 in run.accepted.items():
        arrivals = [min(got[k]) for k in pages if k[0] == incident and got.get(k) and pages[k]["step"] == 0]
        if arrivals:
            first_page.append(min(arrivals) - t202)
    delivery = [min(got[k]) - p["created"] for k, p in due.items() if got.get(k)]
    # The documented window, measured: from the fake accepting a page to its row being marked sent.
    window = [p["sent"] - min(got[k]) for k, p in due.items() if got.get(k) and p["sent"] and k not in doubled]
    for kill in run.kills:
        after = [r.at for r in receipts if r.at > kill.at]
        kill.first_page_after = (after[0] - kill.at) if after else None
    last_ready = max((k.ready for k in run.kills), default=run.started)
    settle = (run.settled_at - last_ready) if run.settled_at else None
    stuck_sending = len(run.past_deadline)

    def dist(values: list[float]) -> str:
        if not values:
            return "–"
        return (f"p50 {statistics.median(values):.2f} s, p99 {rig.percentile(values, 99):.2f} s, "
                f"max {max(values):.2f} s")

    def dist_ms(values: list[float]) -> str:
        if not values:
            return "–"
        return (f"p50 {1000 * statistics.median(values):.1f} ms, p99 {1000 * rig.percentile(values, 99):.1f} ms, "
                f"max {1000 * max(values):.1f} ms")

    ok = not missing and not unexplained and not extra and not errors and run.settled_at is not None
    lines = [
        f"### {started:%Y-%m-%d %H:%M} UTC" + (f" — {args.note}" if args.note else ""),
        "",
        f"- Machine: {rig.machine()}; everything on this machine, over loopback",
        f"- Versions: {rig.versions()}",
        f"- Code: {rig.commit()}",
        f"- Vigil: gunicorn (2 sync workers), `celery beat` (tick {args.tick} s), {args.workers} x "
        f"`celery worker` (prefork, concurrency {args.concurrency}); PostgreSQL + Redis; fake Twilio and Slack "
        "on loopback; SMS_PER_MINUTE raised so no page is bundled",
        f"- Load: {args.incidents} critical alerts over {args.spread:.0f} s, one incident each; policy "
        f"{args.steps} steps x {args.escalate_after:g} s, each step one person by SMS and Slack "
        f"(expected {expected} pages); worker and its pool SIGKILLed {len(run.kills)} times "
        f"(each after {args.kill_every[0]:g}-{args.kill_every[1]:g} s of work, restarted {args.restart_delay:g} s "
        "later)",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| incidents opened / alerts refused | {len(run.accepted)} / {len(run.refused)} |",
        f"| outbox rows | {len(pages)} ({', '.join(f'{s} {n}' for s, n in sorted(statuses.items()))}) |",
        f"| pages received by the fakes | {len(receipts)} (SMS {sum(r.channel == 'sms' for r in receipts)}, "
        f"Slack {sum(r.channel == 'slack' for r in receipts)}) |",
        f"| **missing** (due, never received) | **{len(missing)}** |",
        f"| **doubled** | **{len(doubled)}** ({len(explained)} in the documented window, "
        f"{len(unexplained)} outside it) |",
        f"| received but not in the outbox / fake errors | {len(extra)} / {len(errors)} |",
        f"| pages seen `sending` past their deadline (worker died holding them) | {stuck_sending} |",
        f"| escalations at the end | {', '.join(f'{s} {n}' for s, n in sorted(states.items()))} |",
        f"| settled after the last restart (worker ready -> nothing due, pending or sending) | "
        f"{f'{settle:.1f} s' if settle is not None else 'did not settle within the timeout'} |",
        f"| worker ready again after a kill | {dist([k.ready - k.at for k in run.kills])} |",
        f"| first page received after a kill | "
        f"{dist([k.first_page_after for k in run.kills if k.first_page_after is not None])} |",
        f"| first page, 202 -> fake received | {dist(first_page)} |",
        f"| step lateness (written minus due) | {dist(step_late)} |",
        f"| delivery (row written -> fake received) | {dist(delivery)} |",
        f"| the window (fake accepted -> row marked sent), pages sent once | {dist_ms(window)} |",
        "",
    ]
    if explained or unexplained:
        lines += ["Doubles:", ""] + [f"- {line}" for line in explained + unexplained] + [""]
    if missing:
        lines += ["Missing:", ""] + [f"- {k}: {due[k]}" for k in missing[:20]] + [""]
    if errors or extra or run.refused:
        lines += ["Other problems:", ""] + [f"- {e}" for e in (errors + [str(e) for e in extra] + run.refused)[:20]] + [""]
    lines.append(f"Verdict: **{'pass' if ok else 'FAIL'}** (no page missing; doubles only in the documented window).")
    return "\n".join(lines) + "\n", ok


if __name__ == "__main__":
    sys.exit(main())
