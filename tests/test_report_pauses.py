"""Pauses in the SLA report: each listed incident's pauses and paused time, and per class how many
incidents were paused and for how long in all, computed by the database; in JSON and CSV."""
import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from incidents.models import Incident, SlaPause
from incidents.services.reports import sla_report
from incidents.web.reports_format import report_csv, report_json
from tests.report_world import at, build

AS_OF = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)


def pause(session, incident_id, start, minutes=None, reason="waiting on the customer"):
    session.add(SlaPause(incident_id=incident_id, started_at=start, reason=reason, actor="ops@example.com",
                         ended_at=start + timedelta(minutes=minutes) if minutes is not None else None))


@pytest.fixture
def world(make, clock, session):
    """The report world with pauses: the late class 1 incident paused 20 minutes; the first slow
    page (class 3) paused 5 and 10 minutes; the silent class 1 incident paused since 23:30 on
    31 October and still paused at AS_OF (90 minutes by then)."""
    world = build(make)
    slow_1 = session.scalar(select(Incident.id).where(Incident.title == "Slow page 1"))
    pause(session, world.late_id, at(10, 1), 20)
    pause(session, slow_1, at(1, 12), 5)
    pause(session, slow_1, at(1, 13), 10)
    pause(session, world.silent_id, at(31, 23) + timedelta(minutes=30))
    session.commit()
    world.slow_1 = slow_1
    return world


def test_per_class_pause_totals(session, world):
    acme, = report_json(sla_report(session, customer_slug="acme", month=world.october, as_of=AS_OF))["customers"]
    figures = {c["severity_class"]: (c["paused_incidents"], c["pauses"], c["paused_seconds"])
               for c in acme["classes"]}
    assert figures == {1: (2, 2, 20 * 60 + 90 * 60.0), 2: (0, 0, 0.0), 3: (1, 2, 15 * 60.0)}


def test_each_breach_and_incident_carries_its_pauses(session, world):
    acme, = report_json(sla_report(session, customer_slug="acme", month=world.october, as_of=AS_OF))["customers"]
    assert [(b["incident_id"], b["pauses"], b["paused_seconds"]) for b in acme["breaches"]] == [
        (world.late_id, 1, 1200.0), (world.silent_id, 1, 5400.0)]
    listed = {i["incident_id"]: i for i in acme["incidents"]}
    assert len(listed) == 13  # acme's October: three class 1, ten class 3; not September's
    assert (listed[world.slow_1]["outcome"], listed[world.slow_1]["pauses"],
            listed[world.slow_1]["paused_seconds"]) == ("met", 2, 900.0)
    assert [i["outcome"] for i in acme["incidents"]].count("met") == 11
    assert listed[world.late_id] == {
        "incident_id": world.late_id, "title": "Checkout down again", "severity_class": 1,
        "opened_at": "2026-10-10T01:00:00+00:00", "deadline": "2026-10-10T02:00:00+00:00",
        "responded_at": "2026-10-10T02:30:00+00:00", "outcome": "breached", "pauses": 1,
        "paused_seconds": 1200.0}


def test_an_open_pause_counts_up_to_the_time_of_the_report(session, world):
    later = AS_OF + timedelta(hours=1)
    acme, = sla_report(session, customer_slug="acme", month=world.october, as_of=later).customers
    assert acme.classes[0].paused_seconds == 20 * 60 + 150 * 60


def test_all_customers_total_and_no_incident_list(session, world):
    report = report_json(sla_report(session, customer_slug=None, month=world.october, as_of=AS_OF))
    assert [(c["paused_incidents"], c["pauses"], c["paused_seconds"]) for c in report["total"]] == [
        (2, 2, 6600.0), (0, 0, 0.0), (1, 2, 900.0)]
    assert [c["incidents"] for c in report["customers"]] == [None, None]


def test_csv_has_pause_columns_and_incident_records(session, world):
    sheet = report_csv(sla_report(session, customer_slug="acme", month=world.october, as_of=AS_OF))
    rows = list(csv.DictReader(io.StringIO(sheet)))
    class_1 = next(r for r in rows if r["record"] == "class" and r["severity_class"] == "1")
    assert (class_1["paused_incidents"], class_1["pauses"], class_1["paused_s"]) == ("2", "2", "6600.0")
    slow = next(r for r in rows if r["record"] == "incident" and r["incident_id"] == str(world.slow_1))
    assert (slow["outcome"], slow["pauses"], slow["paused_s"]) == ("met", "2", "900.0")
    assert sum(r["record"] == "incident" for r in rows) == 13

