#!/usr/bin/env python
"""SLA report benchmark: a month's report on the million incidents of `vigil_bench_list`.

    .venv/bin/python bench/sla_report.py [--month 2026-10] [--customer SLUG] [--note "..."]

Reads a copy of the million incidents bench/incident_list.py seeded in `vigil_bench_list` (run that
first; this script never changes, reseeds or drops it): when `vigil_bench_sla` is missing it is
created with CREATE DATABASE ... TEMPLATE vigil_bench_list (no one may be connected to that one for
the moment of copying), migrated to head (migration 0005 adds the response clock's columns and
copies acknowledged_at to responded_at) and VACUUM ANALYZEd. The incidents already carry
acknowledged and resolved times (99.8 % and 99.7 % of them), 20 customers, three classes, about
43,000 a month over two years, so no times need making up.
Times `sla_report` (the service: every aggregate query, in a new session from a warm pool) for
the busiest customer (most incidents; or --customer) and for all customers, after --warmup runs,
--repeat times each; reports p50 and max in ms against the targets (one customer < 1 s, all < 3 s)
and appends a dated section to bench/RESULTS.md under "SLA report".
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.paging_rig import commit, machine, percentile, record  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
HEADING = "SLA report"
TARGETS = {"one customer": 1000.0, "all customers": 3000.0}


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="vigil_bench_list")
    parser.add_argument("--database", default="vigil_bench_sla")
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--customer", help="a slug; default the customer with the most incidents")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--note", default="")
    parser.add_argument("--no-record", action="store_true", help="print, do not append to RESULTS.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from incidents.db import make_engine
    from incidents.models import Customer, Incident
    from incidents.services.reports import parse_month, sla_report

    prepare(args.source, args.database)
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}")
    month = parse_month(args.month, today=datetime.now(timezone.utc).date())
    with Session(engine) as session:
        slug = args.customer or session.scalar(
            select(Customer.slug).join(Incident, Incident.customer_id == Customer.id)
            .group_by(Customer.slug).order_by(func.count().desc()).limit(1))
        total = session.scalar(select(func.count()).select_from(Incident))
    load = os.getloadavg()
    lines = [f"### {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit()}",
             "", f"{machine()}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
             f"{total:,} incidents; month {args.month}; {args.repeat} runs after {args.warmup} warm-up."
             + (f" {args.note}" if args.note else ""), "",
             "| report | p50 ms | max ms | target | met |", "| --- | ---: | ---: | --- | --- |"]
    for label, customer in ((f"one customer ({slug})", slug), ("all customers", None)):
        timings = measure(engine, sla_report, customer, month, args)
        target = TARGETS["one customer" if customer else "all customers"]
        p50, worst = percentile(timings, 50), max(timings)
        lines.append(f"| {label} | {p50:.0f} | {worst:.0f} | < {target:.0f} ms | "
                     f"{'yes' if worst < target else 'no'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_record:
        record(HEADING, text)
    return 0


def prepare(source: str, database: str) -> None:
    """The copy of `source` at the schema's head, made once."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            return
        print(f"copying {source} to {database} ...", flush=True)
        admin.execute(f'CREATE DATABASE "{database}" TEMPLATE "{source}"')
    from alembic import command

    from incidents.migrate import alembic_config

    started = time.perf_counter()
    command.upgrade(alembic_config(f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"), "head")
    with psycopg.connect(f"{PG}/{database}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"migrated and analysed in {time.perf_counter() - started:.0f} s", flush=True)


def measure(engine, sla_report, customer: str | None, month: date, args) -> list[float]:
    from sqlalchemy.orm import Session

    timings = []
    for run in range(args.warmup + args.repeat):
        with Session(engine) as session:
            started = time.perf_counter()
            sla_report(session, customer_slug=customer, month=month)
            elapsed = (time.perf_counter() - started) * 1000
        if run >= args.warmup:
            timings.append(elapsed)
    return timings


if __name__ == "__main__":
    sys.exit(main())
