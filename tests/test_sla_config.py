"""SLA configuration at work: a working-hours clock and warning shares set with `vigil apply` used
by the alert intake (with no extra statement per alert) and the SLA sweep; and the response clock
of a reopened incident."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from incidents.models import Customer, Incident, IncidentEvent, Setting, SlaPause
from incidents.services.engine.sla_sweep import WARNING_STEP
from incidents.web.session import EXTENSION
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.helpers import bearer
from tests.test_apply import vigil, write  # noqa: F401  (fixtures)
from tests.test_paging_flow import MONDAY_NIGHT, alert, paging  # noqa: F401
from tests.test_sla_sweep import at, fresh, pages, sla_events, triage  # noqa: F401

UTC = timezone.utc
CONFIG = """
    working_hours: {timezone: Europe/London, days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:30"}
    sla_warnings: [25%, 75%]
    customers:
      - {slug: acme, name: Acme Retail, sla: {1: 2h, 3: 4h}, sla_clock: {3: working_hours}}
    classification:
      - {name: outage, class: 1, category: outage, match: {text_any: [down]}}
      - {name: everything else, class: 3, category: defect, match: {}}
    services:
      - name: checkout
        customer: acme
        integrations:
          - {name: scripts, type: generic}
"""


@contextmanager
def statements(app):
    """The SQL the app's engine runs meanwhile (on PostgreSQL the intake's autocommit reads are
    driver-level and not seen; the incident is opened through the session, which is)."""
    seen: list[str] = []
    engine = app.extensions[EXTENSION].engine

    def record(conn, cursor, sql, *args):
        seen.append(" ".join(sql.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def applied_key(vigil, write) -> str:  # noqa: F811
    result = vigil(write(CONFIG))
    assert result.exit_code == 0, result.output
    [key] = [line.removeprefix("    key: ") for line in result.stdout.splitlines() if line.startswith("    key: ")]
    return key


def test_intake_opens_on_the_applied_working_hours_clock_without_an_extra_statement(
        app, client, vigil, write, session, clock):  # noqa: F811
    key = applied_key(vigil, write)
    clock.at = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # Monday 08:30 in London (GMT)

    with statements(app) as class_three:
        response = client.post("/api/v1/alerts", headers=bearer(key), json={"summary": "Typo on the invoice page"})
    assert response.status_code == 202, response.json
    with statements(app) as class_one:
        client.post("/api/v1/alerts", headers=bearer(key), json={"summary": "Checkout is down"})

    typo, outage = session.scalars(select(Incident).order_by(Incident.id)).all()
    # Class 3 counts from 09:00: four working hours; the first look at 25% of them.
    assert (typo.severity_class, typo.response_due_at) == (3, datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    assert typo.sla_check_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    # Class 1 stays 24x7: two hours from 08:30, first look after 30 minutes.
    assert (outage.response_due_at, outage.sla_check_at) == (datetime(2026, 11, 23, 10, 30, tzinfo=UTC),
                                                             datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    # The customer's clock came with the key check; the settings are one statement per opening.
    assert not [sql for sql in class_three if "FROM customers" in sql]
    assert len([sql for sql in class_three if "FROM settings" in sql]) == 1
    assert len(class_three) == len(class_one)


def test_a_duplicate_alert_reads_no_settings(app, client, vigil, write, clock):  # noqa: F811
    key = applied_key(vigil, write)
    client.post("/api/v1/alerts", headers=bearer(key), json={"summary": "Typo on the invoice page"})

    with statements(app) as duplicate:
        client.post("/api/v1/alerts", headers=bearer(key), json={"summary": "Typo on the invoice page"})

    assert not [sql for sql in duplicate if "settings" in sql or "FROM customers" in sql]


def test_the_sweep_warns_at_the_configured_shares(paging, alert, triage, clock, session,  # noqa: F811
                                                  fake_twilio, fake_slack):  # noqa: F811
    session.add(Setting(key="sla_warnings", value={"fractions": [0.25, 0.75]}))
    session.commit()
    incident_id = alert()  # class 1 at 22:00 UTC: due at midnight
    assert fresh(session, incident_id).sla_check_at == MONDAY_NIGHT + timedelta(minutes=30)

    at(clock, paging, 0, 29)
    assert sla_events(session, incident_id) == []
    at(clock, paging, 0, 30)
    at(clock, paging, 1, 29)
    at(clock, paging, 1, 30)
    events = sla_events(session, incident_id)
    assert [e.split(" (")[0] for e in events] == ["SLA warning: 25% of the response time used",
                                                  "SLA warning: 75% of the response time used"]
    assert len(pages(session, incident_id, WARNING_STEP)) == 4
    assert fresh(session, incident_id).sla_check_at == MONDAY_NIGHT + timedelta(hours=2)


def test_no_warnings_configured_means_only_the_breach(paging, alert, triage, clock, session,  # noqa: F811
                                                      fake_twilio, fake_slack):  # noqa: F811
    session.add(Setting(key="sla_warnings", value={"fractions": []}))
    session.commit()
    incident_id = alert()
    assert fresh(session, incident_id).sla_check_at == MONDAY_NIGHT + timedelta(hours=2)
    at(clock, paging, 1, 30)
    at(clock, paging, 2)
    assert [e.split(":")[0] for e in sla_events(session, incident_id)] == ["SLA breached"]


# --- reopening ---------------------------------------------------------------------------------------

@pytest.fixture
def monitored(client, make, clock):
    """An auto-resolving service; its alerts open class-1 incidents (120 minutes, 24x7)."""
    make.rules()
    service = make.service()
    write_key = make.api_key("write")

    def send(status: str = "firing"):
        response = client.post("/api/v1/alerts", headers=bearer(service.keys["generic"]),
                                    json={"summary": "Checkout is down", "dedup_key": "checkout", "status": status})
        assert response.status_code == 202, response.json
        return response.json["alerts"][0]["incident_id"]

    return send, write_key


def reopen(client, key, incident_id):
    response = client.post(f"/api/v1/incidents/{incident_id}/reopen", headers=bearer(key))
    assert response.status_code == 200, response.json
    return response.json


def last_event(session, incident_id) -> str:
    session.rollback()
    return session.scalars(select(IncidentEvent.message).where(IncidentEvent.incident_id == incident_id)
                           .order_by(IncidentEvent.id.desc())).first()


def test_reopened_without_a_response_the_clock_runs_again_without_the_resolved_time(
        client, monitored, clock, session):
    send, key = monitored
    opened = clock.at
    incident_id = send()  # due 2h later
    clock.advance(minutes=20)
    send("resolved")  # the monitor resolved it: nobody has responded
    clock.advance(days=1)  # a day later someone finds it was not fixed

    reopened = reopen(client, key, incident_id)

    assert reopened["response_due_at"] == (opened + timedelta(days=1, hours=2)).isoformat()
    assert last_event(session, incident_id) == (
        "Reopened by api key tests-write; the SLA clock runs again without the 1d it was resolved: "
        f"respond by {opened + timedelta(days=1, hours=2):%Y-%m-%d %H:%M} UTC")
    row = session.get(Incident, incident_id)
    # 20 minutes used of 120 before the resolution; the sweep next looks at 50% (60 minutes).
    assert row.sla_check_at == opened + timedelta(days=1, minutes=60)
    assert (row.responded_at, row.breached_at) == (None, None)
    [pause] = session.scalars(select(SlaPause).where(SlaPause.incident_id == incident_id)).all()
    assert (pause.started_at, pause.ended_at, pause.reason) == (
        opened + timedelta(minutes=20), opened + timedelta(days=1, minutes=20), "resolved until reopened")


def test_reopened_after_a_response_the_response_stands(client, monitored, clock, session):
    send, key = monitored
    incident_id = send()
    clock.advance(minutes=10)
    assert client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=bearer(key)).status_code == 200
    answered = clock.at
    clock.advance(minutes=10)
    send("resolved")
    clock.advance(hours=5)

    reopened = reopen(client, key, incident_id)

    assert reopened["responded_at"] == answered.isoformat()
    assert last_event(session, incident_id) == (
        f"Reopened by api key tests-write; the response at {answered:%Y-%m-%d %H:%M} UTC stands, "
        "so the SLA clock stays stopped")
    row = session.get(Incident, incident_id)
    assert row.sla_check_at is None
    assert session.scalars(select(SlaPause)).all() == []


def test_applying_a_new_clock_leaves_open_incidents_deadlines_alone(client, vigil, write, session, clock):  # noqa: F811
    key = applied_key(vigil, write)
    client.post("/api/v1/alerts", headers=bearer(key), json={"summary": "Typo on the invoice page"})
    before = session.execute(select(Incident.response_due_at, Incident.sla_check_at)).one()
    session.commit()

    changed = CONFIG.replace("sla_clock: {3: working_hours}", "sla_clock: {}").replace("[25%, 75%]", "[50%]")
    assert vigil(write(changed)).exit_code == 0

    assert session.scalars(select(Customer.sla_clock)).one() == {}
    assert session.execute(select(Incident.response_due_at, Incident.sla_check_at)).one() == before
