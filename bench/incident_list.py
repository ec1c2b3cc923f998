#!/usr/bin/env python
"""Incident list benchmark: the first page of `list_incidents` with a million incidents on PostgreSQL.

    .venv/bin/python bench/incident_list.py                  # seeds once (about 2 minutes), then measures
    .venv/bin/python bench/incident_list.py --reseed --note "..."

1. creates the database `vigil_bench_list` on 127.0.0.1:5432 (user postgres, trust auth) if it is
   missing and migrates it; when it does not already hold exactly --incidents incidents from an
   earlier run it empties the tables, steps the schema back to 0003 (without the list indexes),
   seeds 20 customers, 100 services, 30 users and the incidents with server-side
   INSERT ... SELECT generate_series (a progress line per chunk), migrates to head again, timing
   that (the list indexes built on a full table), and runs VACUUM ANALYZE;
2. for each filter combination, runs `list_incidents(session, Filters(...), limit=50)` in a new
   session (the pool keeps its connections, as in a web process) a few times to warm up, then
   --repeat times, and reports p50/p95/max in ms; then the same through
   `GET /api/v1/incidents?...` with Flask's test client (the whole view: auth, query parsing,
   JSON), and the plan PostgreSQL chose (EXPLAIN ANALYZE of the list query);
3. appends a dated section to bench/RESULTS.md under "Incident list: first page".

Not a test: missing the target (p95 < 100 ms for every combination) is reported, not failed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.paging_rig import commit, machine, percentile, record  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
HEADING = "Incident list: first page"
TARGET_P95_MS = 100.0
CUSTOMERS, SERVICES, USERS = 20, 100, 30
CHUNK = 100_000


@dataclass(frozen=True)
class Case:
    name: str
    filters: dict
    pages: int = 1  # 2: measure the second page (the cursor from the first)


# Names below are the seed's: customer c07 and service c07-svc-2 (one of c07's) are mid-sized, u05
# is a busy assignee; "latency" is in about 8% of titles, "kerberos" in about 0.02%, "zyzzyva" in
# none. The last few are there to find the limits: phrases whose words are common but never in
# that order make the trigram index intersect long lists.
CASES = [
    Case("no filter", {}),
    Case("status open", {"status": "open"}),
    Case("status triggered", {"status": "triggered"}),
    Case("status resolved", {"status": "resolved"}),
    Case("class 1", {"severity_class": 1}),
    Case("customer", {"customer": "c07"}),
    Case("service (small)", {"service": "c07-svc-2"}),
    Case("assignee", {"assignee": "u05@ops.example"}),
    Case("assignee none", {"assignee": "none"}),
    Case("text common word", {"text": "latency"}),
    Case("text rare word", {"text": "kerberos"}),
    Case("text no match", {"text": "zyzzyva"}),
    Case("text host name", {"text": "db-042"}),
    Case("text phrase from titles", {"text": "checkout latency above"}),
    Case("open + class 1 + customer", {"status": "open", "severity_class": 1, "customer": "c07"}),
    Case("resolved + class 2 + assignee", {"status": "resolved", "severity_class": 2, "assignee": "u05@ops.example"}),
    Case("customer + its service", {"customer": "c07", "service": "c07-svc-2"}),
    Case("customer + another's service (none)", {"customer": "c07", "service": "c08-svc-1"}),
    Case("service + assignee", {"service": "c07-svc-2", "assignee": "u05@ops.example"}),
    Case("class 1 + assignee none + customer", {"severity_class": 1, "assignee": "none", "customer": "c07"}),
    Case("open + assignee none", {"status": "open", "assignee": "none"}),
    Case("customer + text common", {"customer": "c07", "text": "latency"}),
    Case("class 1 + text rare", {"severity_class": 1, "text": "kerberos"}),
    Case("open + class 1 + service + text", {"status": "open", "severity_class": 1, "service": "c01-svc-0",
                                             "text": "checkout"}),
    Case("customer, page 2", {"customer": "c07"}, pages=2),
    Case("text common word, page 2", {"text": "latency"}, pages=2),
    Case("limit: words out of title order", {"text": "latency checkout"}),
    Case("limit: common words, never together", {"text": "eu-west-1 us-east-1"}),
]

COMPONENTS = ["Checkout", "Payments API", "Login", "SMS gateway", "Search", "Billing export", "Webhooks",
              "Mobile push", "Inventory sync", "Order queue", "Reporting", "CDN", "Email relay", "Auth tokens",
              "Price feed", "Customer portal", "Admin console", "Ledger", "Shipping labels", "Recommendations"]
SYMPTOMS = ["latency above threshold", "error rate high", "timeouts", "5xx spike", "disk almost full",
            "queue backlog growing", "certificate expiring", "down", "slow responses", "memory pressure",
            "replication lag", "messages not sending", "CPU saturated", "connection pool exhausted",
            "stale cache", "failed deploy", "missing data", "malformed payloads", "unreachable",
            "high latency on reads", "job stuck", "rate limited by provider", "DNS failures", "crash loop",
            "customer reports broken page"]
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "ap-northeast-1", "sa-east-1",
           "af-south-1"]


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="vigil_bench_list")
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--reseed", action="store_true", help="seed again even if the data is there")
    parser.add_argument("--no-http", action="store_true", help="time the service only")
    parser.add_argument("--no-record", action="store_true", help="print, do not append to RESULTS.md")
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    if args.database in ("test", "postgres"):
        parser.error(f"refusing to use the database {args.database!r}")
    return args


# --- the data ---------------------------------------------------------------------------------

def database(name: str) -> str:
    """Create `name` if it is missing and migrate it; the URL Vigil uses."""
    import psycopg

    from incidents.migrate import upgrade

    with psycopg.connect(PG + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    return url


def seeded(url: str, incidents: int) -> bool:
    from sqlalchemy import text

    from incidents.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        counts = conn.execute(text("SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM customers),"
                                   " (SELECT count(*) FROM users)")).one()
    engine.dispose()
    return tuple(counts) == (incidents, CUSTOMERS, USERS)


def seed(url: str, incidents: int) -> float:
    """Empty the tables and fill them; returns the seconds migration 0003 -> head took on the data."""
    from alembic import command
    from sqlalchemy import text

    from incidents.db import make_engine
    from incidents.migrate import alembic_config
    from incidents.models import Base

    engine = make_engine(url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    command.downgrade(alembic_config(url), "0003")  # the list indexes are built after the data
    started = time.monotonic()
    with engine.begin() as conn:
        _people_and_services(conn)
    for first in range(1, incidents + 1, CHUNK):
        last = min(first + CHUNK - 1, incidents)
        with engine.begin() as conn:
            conn.execute(text(INSERT_INCIDENTS), {"first": first, "last": last, "total": incidents,
                                                  "components": COMPONENTS, "symptoms": SYMPTOMS,
                                                  "regions": REGIONS})
        print(f"seeding: {last:,} / {incidents:,} incidents ({time.monotonic() - started:.0f} s)", flush=True)
    engine.dispose()
    began = time.monotonic()
    command.upgrade(alembic_config(url), "head")
    migration_seconds = time.monotonic() - began
    print(f"seeding: migration 0003 -> head (the list indexes) took {migration_seconds:.1f} s", flush=True)
    vacuum_analyze(url)
    print(f"seeding: done, VACUUM ANALYZE included ({time.monotonic() - started:.0f} s)", flush=True)
    return migration_seconds


def _people_and_services(conn) -> None:
    from sqlalchemy import text

    conn.execute(text(
        "INSERT INTO customers (slug, name, sla_minutes, contacts, created_at)"
        " SELECT format('c%s', lpad(n::text, 2, '0')), format('Customer %s', n), '{}', '[]', now()"
        " FROM generate_series(1, :n) AS n"), {"n": CUSTOMERS})
    # Service s belongs to customer (s % 20) + 1 and is called c07-svc-2 and so on.
    conn.execute(text(
        "INSERT INTO services (name, customer_id, auto_resolve, created_at)"
        " SELECT format('c%s-svc-%s', lpad((s % :c + 1)::text, 2, '0'), s / :c), s % :c + 1, false, now()"
        " FROM generate_series(0, :n - 1) AS s"), {"n": SERVICES, "c": CUSTOMERS})
    conn.execute(text(
        "INSERT INTO users (email, name, role, active, sms_opted_out, created_at)"
        " SELECT format('u%s@ops.example', lpad(n::text, 2, '0')), format('User %s', n), 'ops_engineer', true,"
        " false, now() FROM generate_series(1, :n) AS n"), {"n": USERS})


# One row per g: ids follow g, so newest first is g descending. Services are skewed (service 1 has
# about 10% of incidents, service 100 about 0.05%); the customer is the service's; about 55% are
# unassigned and the rest skewed over 30 people; open incidents are mostly among the newest (about
# 2,400 of the last 30,000) plus about 1 in 2,000 older ones left open; class 1/2/3 about 10/30/60%.
INSERT_INCIDENTS = """
INSERT INTO incidents (id, title, description, status, severity_class, category, classification_rule,
    classification_reason, origin, customer_id, service_id, dedup_key, source_severity, alert_count,
    assignee_id, opened_at, response_due_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by,
    last_alert_at, updated_at)
SELECT g,
    CASE WHEN r.rare < 0.0002 THEN 'Kerberos ticket renewal failing on ' || r.host
         ELSE (CAST(:components AS text[]))[1 + floor(random() * 20)::int] || ' ' || (CAST(:symptoms AS text[]))[1 + floor(random() * 25)::int]
              || ' in ' || (CAST(:regions AS text[]))[1 + floor(random() * 8)::int] || CASE WHEN random() < 0.5 THEN ' on ' || r.host ELSE '' END
    END,
    'Seeded by bench/incident_list.py. ' || md5(g::text) || ' ' || md5((g + 1)::text),
    r.status, r.class,
    (ARRAY['outage', 'performance', 'defect'])[r.class], 'seeded', 'seeded', r.origin,
    (r.svc - 1) % 20 + 1, r.svc,
    CASE WHEN r.origin = 'alert' THEN format('svc-%s/%s', r.svc, substr(md5(g::text), 1, 12)) END,
    CASE WHEN r.origin = 'alert' THEN (ARRAY['critical', 'error', 'warning'])[r.class] END,
    CASE WHEN r.origin = 'alert' THEN 1 + floor(random() * 5)::int ELSE 0 END,
    CASE WHEN random() < 0.45 THEN 1 + floor(30 * power(random(), 1.5))::int END,
    r.opened, r.opened + (ARRAY[interval '1 hour', interval '8 hours', interval '3 days'])[r.class],
    CASE WHEN r.status <> 'triggered' THEN r.opened + interval '7 minutes' END,
    CASE WHEN r.status <> 'triggered' THEN 'seed' END,
    CASE WHEN r.status = 'resolved' THEN r.opened + interval '2 hours' END,
    CASE WHEN r.status = 'resolved' THEN 'seed' END,
    CASE WHEN r.origin = 'alert' THEN r.opened END,
    r.opened + interval '2 hours'
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
CROSS JOIN LATERAL (
    SELECT random() AS rare,
           1 + floor(100 * power(random(), 2))::int AS svc,
           format('db-%s', lpad((g % 500)::text, 3, '0')) AS host,
           CASE WHEN random() < 0.8 THEN 'alert' ELSE 'report' END AS origin,
           timestamptz '2024-11-23 00:00+00' + (g * (interval '2 years' / CAST(:total AS float8))) AS opened,
           CASE WHEN g > :total - 30000 AND random() < 0.08
                    THEN (ARRAY['triggered', 'acknowledged'])[1 + floor(random() * 2)::int]
                WHEN random() < 0.0005 THEN 'triggered'
                ELSE 'resolved' END AS status,
           CASE WHEN x < 0.1 THEN 1 WHEN x < 0.4 THEN 2 ELSE 3 END AS class
    FROM (SELECT random() AS x, g AS dependent) AS one
) AS r
"""


def vacuum_analyze(url: str) -> None:
    from sqlalchemy import text

    from incidents.db import make_engine

    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE) incidents, customers, services, users"))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('incidents', 'id'), max(id)) FROM incidents"))
    engine.dispose()


def shape(url: str) -> dict:
    """What the seed made, for the report."""
    from sqlalchemy import text

    from incidents.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE status <> 'resolved'), count(*) FILTER (WHERE assignee_id IS NULL),"
            " count(*) FILTER (WHERE customer_id = (SELECT id FROM customers WHERE slug = 'c07')),"
            " count(*) FILTER (WHERE service_id = (SELECT id FROM services WHERE name = 'c07-svc-2')),"
            " count(*) FILTER (WHERE assignee_id = (SELECT id FROM users WHERE email = 'u05@ops.example')),"
            " count(*) FILTER (WHERE lower(title) LIKE '%latency%'), count(*) FILTER (WHERE lower(title) LIKE '%kerberos%'),"
            " pg_size_pretty(pg_table_size('incidents')), pg_size_pretty(pg_relation_size('ix_incidents_title_trgm'))"
            " FROM incidents")).one()
    engine.dispose()
    keys = ("incidents", "open", "unassigned", "customer c07", "service c07-svc-2", "assignee u05",
            "titles with latency", "titles with kerberos", "table size", "title index size")
    return dict(zip(keys, row))


# --- measuring --------------------------------------------------------------------------------

class Statements:
    """Remembers the list queries (SELECTs on incidents ordered by id) of the last call, to EXPLAIN
    them: one, or up to three for a title search (see incidents.services.listing._search)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.seen: list[tuple[str, object]] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM incidents" in statement and "ORDER BY incidents.id" in statement:
            self.seen.append((statement, parameters))


def plan(engine, statements: list[tuple[str, object]]) -> tuple[str, float]:
    """The access paths PostgreSQL chose for each query (scans and their indexes, the steps
    joined by "then") and their execution time in ms, added up."""
    steps, total = [], 0.0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            tree = cursor.fetchone()[0][0]
            steps.append("; ".join(dict.fromkeys(_scans(tree["Plan"]))) or tree["Plan"]["Node Type"])
            total += tree["Execution Time"]
        raw.rollback()
    finally:
        raw.close()
    return " then ".join(steps), total


def _scans(node: dict) -> list[str]:
    found = []
    if "Scan" in node["Node Type"] and node.get("Relation Name", "incidents") == "incidents":
        where = f" {node['Index Name']}" if node.get("Index Name") else ""
        found.append(f"{node['Node Type']}{' Backward' if node.get('Scan Direction') == 'Backward' else ''}{where}")
    for child in node.get("Plans", []):
        found += _scans(child)
    return found


def time_service(sessions, statements: Statements, case: Case, repeat: int, warmup: int) -> tuple[list[float], int]:
    from incidents.services.listing import Filters, list_incidents

    filters = Filters(**case.filters)
    cursor = None
    if case.pages == 2:
        with sessions() as session:
            _, cursor = list_incidents(session, filters, limit=50)
    timings, count = [], 0
    for n in range(warmup + repeat):
        statements.seen.clear()
        began = time.perf_counter()
        with sessions() as session:
            rows, _ = list_incidents(session, filters, cursor=cursor, limit=50)
        elapsed = (time.perf_counter() - began) * 1000
        if n >= warmup:
            timings.append(elapsed)
        count = len(rows)
    return timings, count


def time_http(client, key: str, case: Case, repeat: int, warmup: int) -> list[float]:
    headers = {"Authorization": f"Bearer {key}"}
    query = urlencode({**case.filters, "limit": 50})
    if case.pages == 2:
        query += "&cursor=" + client.get(f"/api/v1/incidents?{query}", headers=headers).json["next"]
    timings = []
    for n in range(warmup + repeat):
        began = time.perf_counter()
        response = client.get(f"/api/v1/incidents?{query}", headers=headers)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{case.name}: GET /api/v1/incidents?{query} answered {response.status_code}: "
                             f"{response.get_data(as_text=True)[:300]}")
        if n >= warmup:
            timings.append(elapsed)
    return timings


def http_client(url: str):
    import config as settings
    from incidents.app import create_app
    from incidents.db import make_engine, make_sessionmaker
    from incidents.services import api_keys

    instance = Path(tempfile.mkdtemp(prefix="vigil-bench-list-"))
    app = create_app(settings.Config(database_url=url, broker_url="memory://", secret_key="bench-" + "x" * 40,
                                     public_url="http://vigil.bench", instance_path=instance))
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        _, key = api_keys.create(session, name=f"bench-list-{time.time_ns()}", scope="read")
        session.commit()
    engine.dispose()
    return app.test_client(), key


class Busy:
    """How many cores the whole machine and this process kept busy between start and stop, to
    tell a slow query from a machine that other programs are using (PostgreSQL counts as other)."""

    def __enter__(self):
        self.began, self.cpu, self.machine = time.monotonic(), time.process_time(), _busy_jiffies()
        return self

    def __exit__(self, *exc):
        seconds = time.monotonic() - self.began
        self.all = (_busy_jiffies() - self.machine) / os.sysconf("SC_CLK_TCK") / seconds
        self.own = (time.process_time() - self.cpu) / seconds


def _busy_jiffies() -> int:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


def summary(values: list[float]) -> tuple[float, float, float]:
    return percentile(values, 50), percentile(values, 95), max(values)


# --- reporting --------------------------------------------------------------------------------

def versions() -> str:
    import platform

    import psycopg
    import sqlalchemy

    with psycopg.connect(PG + "/postgres") as conn:
        server = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in ("shared_buffers", "work_mem", "random_page_cost", "effective_cache_size")}
    return (f"Python {platform.python_version()}, PostgreSQL {server} "
            f"({', '.join(f'{k} {v}' for k, v in settings.items())}), SQLAlchemy {sqlalchemy.__version__}, "
            f"psycopg {psycopg.__version__}")


def report(started: datetime, args, data: dict, migration: float | None, rows: list[dict]) -> str:
    http = not args.no_http
    lines = [f"### {started:%Y-%m-%d %H:%M} UTC" + (f" — {args.note}" if args.note else ""), "",
             f"- Machine: {machine()}; PostgreSQL and the benchmark on this machine",
             f"- Versions: {versions()}",
             f"- Code: {commit()}",
             "- Data: " + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in data.items())
             + f"; {CUSTOMERS} customers, {SERVICES} services, {USERS} users",
             ]
    if migration is not None:
        lines.append(f"- Migration 0003 -> head (the list indexes of 0004) on the seeded table: {migration:.1f} s")
    lines += [f"- Each combination: {args.warmup} warm-up runs, then {args.repeat} timed; first page, limit 50, "
              "newest first; service = `list_incidents` in a new session (pooled connection, as a web "
              "process has)" + ("; HTTP = `GET /api/v1/incidents` through Flask's test client (auth, "
                                "parsing, JSON; no network)" if http else "")
              + f"; busy cores = the whole machine's and this script's CPU during the service timing "
              f"(of {os.cpu_count()}; PostgreSQL is in the first)", ""]
    head = "| filters | rows | service p50 ms | service p95 ms | service max ms |"
    rule = "| --- | ---: | ---: | ---: | ---: |"
    if http:
        head += " HTTP p50 ms | HTTP p95 ms | HTTP max ms |"
        rule += " ---: | ---: | ---: |"
    lines += [head + " busy cores: all / bench | plan (EXPLAIN ANALYZE ms) |", rule + " ---: | --- |"]
    for row in rows:
        cells = [row["name"], str(row["rows"]), *(f"{v:.1f}" for v in row["service"])]
        if http:
            cells += [f"{v:.1f}" for v in row["http"]]
        cells.append(f"{row['busy'][0]:.2f} / {row['busy'][1]:.2f}")
        cells.append(f"{row['plan']} ({row['explain_ms']:.1f})")
        lines.append("| " + " | ".join(cells) + " |")
    missed = [r for r in rows if r["service"][1] >= TARGET_P95_MS or (http and r["http"][1] >= TARGET_P95_MS)]
    verdict = "**met**" if not missed else f"**not met** for {len(missed)} of {len(rows)}: " + "; ".join(
        f"{r['name']} (p95 service {r['service'][1]:.1f}" + (f", HTTP {r['http'][1]:.1f}" if http else "") + " ms)"
        for r in missed)
    lines += ["", f"Target (p95 < {TARGET_P95_MS:.0f} ms for the first page of every combination"
              + (", service and HTTP" if http else "") + f"): {verdict}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    started = datetime.now(timezone.utc)
    url = database(args.database)
    migration = None
    if args.reseed or not seeded(url, args.incidents):
        migration = seed(url, args.incidents)
    else:
        print(f"{args.database} already holds {args.incidents:,} incidents; measuring (--reseed to seed again)")
    data = shape(url)

    from incidents.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    statements = Statements(engine)
    client, key = (None, None) if args.no_http else http_client(url)
    rows = []
    for case in CASES:
        if args.only and args.only not in case.name:
            continue
        with Busy() as busy:
            service, count = time_service(sessions, statements, case, args.repeat, args.warmup)
        row = {"name": case.name, "rows": count, "service": summary(service), "busy": (busy.all, busy.own)}
        row["plan"], row["explain_ms"] = plan(engine, statements.seen)
        if client is not None:
            row["http"] = summary(time_http(client, key, case, args.repeat, args.warmup))
        rows.append(row)
        http = f"  HTTP p95 {row['http'][1]:6.1f}" if client is not None else ""
        print(f"{case.name:40} {count:3} rows  service p50 {row['service'][0]:6.1f} p95 {row['service'][1]:6.1f}"
              f" max {row['service'][2]:6.1f} ms{http}  | {row['plan']}", flush=True)
    engine.dispose()
    text = report(started, args, data, migration, rows)
    print()
    print(text)
    if not args.no_record and not args.only:
        record(HEADING, text)
        print("appended to bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
