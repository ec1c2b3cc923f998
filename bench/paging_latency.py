#!/usr/bin/env python
"""Paging latency: from an alert's 202 to the fake provider receiving its first page, idle and
under load; and escalation lateness (page actually written/received minus due) with 10,000 open
incidents.

    .venv/bin/python bench/paging_latency.py                # the standard run (about 6 minutes)
    .venv/bin/python bench/paging_latency.py --no-record    # without appending to RESULTS.md

Vigil runs as separate processes on PostgreSQL (`vigil_bench_latency`, dropped and created) and
Redis (redis://127.0.0.1:6379/10, emptied): gunicorn, `celery beat`, `celery worker`; Twilio and
Slack are the loopback fakes of tests/fakes. The load generator is a process of its own.

Scenarios (each on a fresh database and fresh processes):

- idle: one new critical alert every second; first page = the earliest of the incident's SMS and
  Slack page at the fakes.
- load-storm: 100 alerts/s for 20 s, one in ten a new incident, the rest repeats of open ones
  (what a monitoring storm looks like: 200 incidents, 1,800 deduplicated alerts).
- new@25, new@35, new@50, new@100: that many alerts/s for 10 s, every alert a new incident with two
  pages (the worker's ceiling: where first-page latency starts to grow).
- escalation: 10,000 open incidents whose first step has been paged; 600 of them are due for the
  next step over 60 s (10 a second), the rest hours later. Lateness = when the next step's page
  was written (and when the fake received it) minus when it was due.

SMS_PER_MINUTE is raised so every page is sent (worst case for the worker; with the default of 3
a storm's SMS are bundled and the worker has less to do). Targets (2-core machine): first page
p50 <= 250 ms and p99 <= 1 s; escalation lateness p99 <= 2 s.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import paging_rig as rig  # noqa: E402

HEADING = "Paging: latency"
TARGET_P50, TARGET_P99, TARGET_LATE_P99 = 0.25, 1.0, 2.0
SCENARIOS = ("idle", "load-storm", "new@25", "new@35", "new@50", "new@100", "escalation")


def arguments(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", nargs="+", default=list(SCENARIOS),
                   help="idle, load-storm, new@RATE (RATE alerts/s, each a new incident), escalation")
    p.add_argument("--idle-alerts", type=int, default=60)
    p.add_argument("--rate", type=float, default=100.0, help="alerts/s in load-storm")
    p.add_argument("--load-seconds", type=float, default=10.0, help="duration of each new@RATE scenario")
    p.add_argument("--storm-seconds", type=float, default=20.0, help="duration of load-storm")
    p.add_argument("--storm-new", type=float, default=0.1, help="share of new incidents in load-storm")
    p.add_argument("--open-incidents", type=int, default=10_000)
    p.add_argument("--due", type=int, default=600, help="escalations due during the escalation scenario")
    p.add_argument("--due-seconds", type=float, default=60.0)
    p.add_argument("--tick", type=float, default=1.0, help="ENGINE_TICK_SECONDS (Vigil's default: 1)")
    p.add_argument("--concurrency", type=int, default=2, help="worker pool processes (vigil up: 2)")
    p.add_argument("--web-workers", type=int, default=2)
    p.add_argument("--settle-timeout", type=float, default=180.0)
    p.add_argument("--timeout", type=float, default=1200.0, help="the whole run, seconds")
    p.add_argument("--database", default="vigil_bench_latency")
    p.add_argument("--broker", default="redis://127.0.0.1:6379/10")
    p.add_argument("--note", default="")
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    for name in args.scenarios:
        if name not in ("idle", "load-storm", "escalation") and not re.fullmatch(r"new@\d+(\.\d+)?", name):
            p.error(f"unknown scenario {name!r}")
    return args


# --- the load generator (its own process) -----------------------------------------------------------

def generate(port: int, key: str, rate: float, seconds: float, new_share: float, prefix: str, out) -> None:
    """Post alerts at `rate`/s for `seconds` over keep-alive connections (a few threads, so a slow
    answer does not hold the schedule up); send back [(time of 202, incident id, created)]."""
    results, errors, lock = [], [], threading.Lock()
    total = int(rate * seconds)
    start = time.time() + 0.2
    opened: list[str] = []
    rnd = random.Random(7)
    plan = []
    for i in range(total):
        if not opened or rnd.random() < new_share:
            opened.append(f"{prefix}-{i}")
            plan.append(opened[-1])
        else:
            plan.append(rnd.choice(opened))
    threads = 8
    body_for = {}

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        for i in range(offset, total, threads):
            delay = start + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            dedup = plan[i]
            body = body_for.setdefault(dedup, json.dumps(
                {"summary": f"{dedup}: checkout is down", "severity": "critical", "dedup_key": dedup}))
            try:
                conn.request("POST", "/api/v1/alerts", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                at = time.time()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    errors.append(f"{exc.__class__.__name__}: {exc}")
                continue
            if response.status != 202:
                with lock:
                    errors.append(f"{response.status} {data[:100]!r}")
                continue
            alert = json.loads(data)["alerts"][0]
            with lock:
                results.append((at, alert["incident_id"], alert["created"]))
        conn.close()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.send((results, errors, time.time() - start))
    out.close()


def load(port: int, key: str, rate: float, seconds: float, new_share: float, prefix: str):
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=generate, args=(port, key, rate, seconds, new_share, prefix, send), daemon=True)
    proc.start()
    send.close()
    try:
        if not receive.poll(seconds + 120):
            raise RuntimeError("the load generator did not finish")
        return receive.recv()
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


# --- scenarios ----------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args

    def up(self, *, escalate_after):
        """A fresh database and fresh processes; returns the integration key."""
        self.database_url = rig.fresh_database(self.args.database)
        self.dsn = self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        [key] = rig.seed(self.database_url, steps=[[p] for p in rig.people(3, "l")], escalate_after=escalate_after)
        rig.flush_broker(self.args.broker)
        self.fakes = rig.Fakes()
        self.workdir = Path(tempfile.mkdtemp(prefix="vigil-latency-"))
        print(f"  logs in {self.workdir}", flush=True)
        self.stack = rig.Stack(self.database_url, self.args.broker, self.workdir, self.fakes, tick=self.args.tick,
                               web_workers=self.args.web_workers, concurrency=self.args.concurrency,
                               extra_env={"SMS_PER_MINUTE": "100000"})
        self.stack.start_web()
        self.stack.start_beat()
        self.stack.start_worker()
        time.sleep(2)  # the first ticks have run; the pool's connections are open
        return key

    def down(self):
        self.stack.stop()
        self.fakes.stop()

    def settle(self, expected_pages: int) -> bool:
        deadline = time.monotonic() + self.args.settle_timeout
        while time.monotonic() < deadline:
            if self.fakes.count() >= expected_pages:
                return True
            time.sleep(0.2)
        return False

    def first_pages(self, accepted: list[tuple[float, int, bool]]) -> tuple[list[float], int]:
        """Per new incident: its first page's arrival minus its 202; and how many never got one."""
        first = {}
        for r in self.fakes.receipts():
            first.setdefault(r.incident, r.at)
        latencies, missing = [], 0
        for at, incident, created in accepted:
            if not created:
                continue
            if incident in first:
                latencies.append(first[incident] - at)
            else:
                missing += 1
        return latencies, missing


def first_page_scenario(bench: Bench, name: str) -> dict:
    args = bench.args
    key = bench.up(escalate_after=3600)
    try:
        if name == "idle":
            rate, seconds, share = 1.0, float(args.idle_alerts), 1.0
        elif name == "load-storm":
            rate, seconds, share = args.rate, args.storm_seconds, args.storm_new
        else:
            rate, seconds, share = float(name.split("@")[1]), args.load_seconds, 1.0
        cpu_before, wall_before = rig.cpu_seconds(bench.stack), time.time()
        accepted, errors, took = load(bench.stack.port, key, rate, seconds, share, name)
        new = sum(1 for _, _, created in accepted if created)
        settled = bench.settle(2 * new)
        cores = cores_used(cpu_before, rig.cpu_seconds(bench.stack), time.time() - wall_before)
        latencies, missing = bench.first_pages(accepted)
        worker_log = bench.stack.workers[-1].output()
    finally:
        bench.down()
    return {"scenario": name, "alerts": len(accepted), "new": new, "rate": len(accepted) / took if took else 0,
            "errors": errors, "latencies": latencies, "missing": missing, "settled": settled,
            "fake_errors": bench.fakes.errors(), "expired_ticks": worker_log.count("Discarding revoked task"),
            "cores": cores, "tasks": worker_log.count("] succeeded in ")}


def cores_used(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    # A process that ended in between takes its CPU time along: never below zero.
    used = {k: max(0.0, after.get(k, 0.0) - before.get(k, 0.0)) / wall for k in after}
    used["other"] = max(0.0, used.pop("machine", 0.0) - sum(used.values()))
    return used


def escalation_scenario(bench: Bench) -> dict:
    """10,000 open incidents; `due` of them reach their next step over `due_seconds`."""
    args = bench.args
    bench.up(escalate_after=[3600, 3600, 3600])
    try:
        schedule = seed_open_incidents(bench.database_url, args.open_incidents, args.due, args.due_seconds)
        cpu_before, wall_before = rig.cpu_seconds(bench.stack), time.time()
        settled = bench.settle(2 * args.due)
        time.sleep(2 * args.tick)
        cores = cores_used(cpu_before, rig.cpu_seconds(bench.stack), time.time() - wall_before)
        import psycopg

        with psycopg.connect(bench.dsn) as conn:
            written = dict(conn.execute("SELECT incident_id, extract(epoch FROM min(created_at)) FROM pages "
                                        "WHERE step = 1 GROUP BY incident_id").fetchall())
            early = conn.execute("SELECT count(*) FROM pages WHERE step = 1 AND incident_id <> ALL(%s)",
                                 (list(schedule),)).fetchone()[0]
        received = {}
        for r in bench.fakes.receipts():
            received.setdefault(r.incident, r.at)
        worker_log = bench.stack.workers[-1].output()
    finally:
        bench.down()
    late_written = [float(written[i]) - due for i, due in schedule.items() if i in written]
    late_received = [received[i] - due for i, due in schedule.items() if i in received]
    return {"scenario": "escalation", "due": len(schedule), "written": len(late_written),
            "received": len(late_received), "late_written": late_written, "late_received": late_received,
            "early": early, "settled": settled, "fake_errors": bench.fakes.errors(),
            "expired_ticks": worker_log.count("Discarding revoked task"), "cores": cores,
            "tasks": worker_log.count("] succeeded in ")}


def seed_open_incidents(url: str, count: int, due: int, due_seconds: float) -> dict[int, float]:
    """`count` open class-1 incidents whose first step was paged (no pages written: the fakes only
    see the next step); `due` of them come due evenly over the next `due_seconds` (starting in 5 s),
    the rest in a day. Returns {incident id: due time (epoch)} for the ones that come due."""
    from sqlalchemy import insert, select

    from incidents.db import make_engine, make_sessionmaker
    from incidents.models import Escalation, EscalationPolicy, Incident, Service

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            service = session.scalars(select(Service)).first()
            policy_id = session.scalar(select(EscalationPolicy.id))
            now = datetime.now(timezone.utc)
            rows = [dict(title=f"Open incident {i}: checkout is down", status="triggered", severity_class=1,
                         category="outage", classification_rule="critical from monitoring",
                         classification_reason="bench", origin="alert", customer_id=service.customer_id,
                         service_id=service.id, dedup_key=f"open-{i}", source_severity="critical", alert_count=1,
                         opened_at=now, response_due_at=now + timedelta(hours=1), last_alert_at=now,
                         updated_at=now) for i in range(count)]
            ids = list(session.scalars(insert(Incident).returning(Incident.id), rows))
            start = now + timedelta(seconds=5)
            chosen = set(random.Random(3).sample(range(count), due))
            schedule, escalations, k = {}, [], 0
            for n, incident_id in enumerate(ids):
                if n in chosen:
                    at = start + timedelta(seconds=k * due_seconds / due)
                    schedule[incident_id] = at.timestamp()
                    k += 1
                else:
                    at = now + timedelta(days=1)
                escalations.append(dict(incident_id=incident_id, policy_id=policy_id, step=0, cycle=0, next_at=at,
                                        state="active", updated_at=now))
            session.execute(insert(Escalation), escalations)
            session.commit()
    finally:
        engine.dispose()
    return schedule


# --- report -------------------------------------------------------------------------------------------

def ms(v: float) -> str:
    return f"{1000 * v:.0f}"


def section(args, started: datetime, results: list[dict]) -> str:
    lines = [
        f"### {started:%Y-%m-%d %H:%M} UTC" + (f" — {args.note}" if args.note else ""),
        "",
        f"- Machine: {rig.machine()}; everything on this machine, over loopback",
        f"- Versions: {rig.versions()}",
        f"- Code: {rig.commit()}",
        f"- Vigil: gunicorn ({args.web_workers} sync workers), `celery beat` (tick {args.tick:g} s), one "
        f"`celery worker` (prefork, concurrency {args.concurrency}); PostgreSQL + Redis; fake Twilio and Slack on "
        "loopback; SMS_PER_MINUTE raised so every page is sent; load generator in a process of its own",
        "",
        "First page (alert's 202 -> the fake receives the incident's first SMS or Slack page):",
        "",
        "| scenario | alerts | alerts/s | new incidents | p50 ms | p90 ms | p99 ms | max ms | no page | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        if r["scenario"] == "escalation":
            continue
        lat = r["latencies"]
        if lat:
            p50, p90, p99 = statistics.median(lat), rig.percentile(lat, 90), rig.percentile(lat, 99)
            met = p50 <= TARGET_P50 and p99 <= TARGET_P99 and not r["missing"]
            cells = f"{ms(p50)} | {ms(p90)} | {ms(p99)} | {ms(max(lat))}"
        else:
            met, cells = False, "– | – | – | –"
        lines.append(f"| {r['scenario']} | {r['alerts']} | {r['rate']:.0f} | {r['new']} | {cells} | {r['missing']} "
                     f"| {'met' if met else '**not met**'} |")
    for r in results:
        if r["scenario"] != "escalation":
            continue
        lines += ["", f"Escalation lateness with {args.open_incidents:,} open incidents ({r['due']} due over "
                      f"{args.due_seconds:g} s, the rest a day later; tick {args.tick:g} s):", "",
                  "| measured | count | p50 ms | p90 ms | p99 ms | max ms | target (p99 <= 2 s) |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for label, values in (("page written minus due", r["late_written"]),
                              ("page received by the fake minus due", r["late_received"])):
            if values:
                p99 = rig.percentile(values, 99)
                lines.append(f"| {label} | {len(values)} | {ms(statistics.median(values))} | "
                             f"{ms(rig.percentile(values, 90))} | {ms(p99)} | {ms(max(values))} | "
                             f"{'met' if p99 <= TARGET_LATE_P99 else '**not met**'} |")
        if r["early"]:
            lines.append(f"\n{r['early']} escalations that were not due yet were advanced: a bug.")
    lines += ["", "CPU cores used while each scenario ran (2 means both cores busy), and tasks the worker ran:", "",
              "| scenario | gunicorn | worker | beat | PostgreSQL | Redis | load generator + fakes "
              "| other programs | worker tasks |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        c = r.get("cores") or {}
        lines.append(f"| {r['scenario']} | " + " | ".join(f"{c.get(k, 0.0):.2f}" for k in (
            "gunicorn", "worker", "beat", "postgresql", "redis", "bench", "other")) + f" | {r.get('tasks', 0)} |")
    notes = []
    for r in results:
        extra = []
        if r.get("errors"):
            extra.append(f"{len(r['errors'])} alerts refused ({r['errors'][0]})")
        if r.get("fake_errors"):
            extra.append(f"fakes saw {len(r['fake_errors'])} unexpected requests ({r['fake_errors'][0]})")
        if not r.get("settled"):
            extra.append(f"not every page arrived within {args.settle_timeout:.0f} s")
        if r.get("expired_ticks"):
            extra.append(f"{r['expired_ticks']} engine ticks expired in the queue behind other work")
        if extra:
            notes.append(f"- {r['scenario']}: " + "; ".join(extra))
    if notes:
        lines += ["", "Notes:", ""] + notes
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = arguments(argv)
    started = datetime.now(timezone.utc)
    bench = Bench(args)
    results = []
    with rig.Watchdog(args.timeout):
        for name in args.scenarios:
            print(f"scenario {name} ...", flush=True)
            result = escalation_scenario(bench) if name == "escalation" else first_page_scenario(bench, name)
            results.append(result)
            summary = {k: v for k, v in result.items() if not isinstance(v, list)}
            values = result.get("latencies") or result.get("late_received") or []
            if values:
                summary.update(p50=round(statistics.median(values), 3), p99=round(rig.percentile(values, 99), 3),
                               max=round(max(values), 3))
            print(f"  {summary}", flush=True)
    text = section(args, started, results)
    print(text)
    if not args.no_record:
        rig.record(HEADING, text)
        print(f"appended to {rig.RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
