"""The regulator's clock through the API: which incidents get one (opened as a breach by an alert or
a report, or reclassified to one; no other), reading it, and recording the authority's notification,
with bad input refused and nothing stored; a clock stands down while the incident is no breach."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from incidents.models import AuditEvent, IncidentEvent, PlaybookRun, RegulatorClock, Setting
from incidents.services.playbook import regulator
from tests.helpers import bearer

BREACH = "Unauthorized access to the customer database"
AWARE = datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)  # the clock fixture's time


def _alert(client, make, summary: str, dedup_key: str = "k1") -> int:
    """An alert on acme's checkout (made with the sample rules on first use): its incident's id."""
    if not hasattr(make, "checkout"):
        make.rules()
        make.checkout = make.service()
    response = client.post("/api/v1/alerts", headers=bearer(make.checkout.keys["generic"]),
                           json={"summary": summary, "severity": "critical", "dedup_key": dedup_key})
    assert response.status_code == 202, response.json
    return response.json["alerts"][0]["incident_id"]


def _clock(client, make, incident_id: int):
    if not hasattr(make, "reader"):
        make.reader = make.api_key("read")
    return client.get(f"/api/v1/incidents/{incident_id}/regulator-clock", headers=bearer(make.reader))


def _notify(client, key: str, incident_id: int, body: dict):
    return client.post(f"/api/v1/incidents/{incident_id}/regulator-notified", json=body, headers=bearer(key))


def _events(session, incident_id: int, kind: str) -> list[str]:
    session.commit()
    found = [e.message for e in session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.kind == kind))]
    session.commit()  # no read transaction left open for the app's next write (SQLite)
    return found


def test_a_breach_alert_opens_the_clock_72_hours_from_awareness(client, session, make, clock):
    incident_id = _alert(client, make, BREACH)
    response = _clock(client, make, incident_id)
    assert response.status_code == 200
    assert response.json["aware_at"] == "2026-11-23T08:30:00+00:00"
    assert response.json["due_at"] == "2026-11-26T08:30:00+00:00"
    assert response.json["notified"] is False and response.json["warnings_sent"] == 0
    assert _events(session, incident_id, "regulator_clock") == [
        "Regulator's deadline (GDPR, 72 h): notify the supervisory authority by 2026-11-26 08:30 UTC"]
    # A second alert for the same breach is a duplicate: the clock keeps its first awareness time.
    clock.advance(hours=1)
    assert _alert(client, make, BREACH) == incident_id
    assert _clock(client, make, incident_id).json["due_at"] == "2026-11-26T08:30:00+00:00"
    assert len(_events(session, incident_id, "regulator_clock")) == 1


def test_a_reported_breach_opens_the_clock(client, session, make, clock):
    make.rules()
    make.customer()
    response = client.post("/api/v1/incidents", headers=bearer(make.api_key("write")),
                           json={"title": "Laptop stolen", "customer": "acme", "category": "security_breach"})
    assert response.status_code == 201, response.json
    assert _clock(client, make, response.json["id"]).json["due_at"] == "2026-11-26T08:30:00+00:00"


def test_reclassifying_to_a_breach_opens_the_clock_from_then(client, session, make, clock):
    incident_id = _alert(client, make, "Checkout is down")
    assert _clock(client, make, incident_id).status_code == 409
    clock.advance(hours=5)
    response = client.post(f"/api/v1/incidents/{incident_id}/reclassify", headers=bearer(make.api_key("write")),
                           json={"severity_class": 1, "reason": "the outage was an intrusion",
                                 "category": "security_breach"})
    assert response.status_code == 200, response.json
    assert _clock(client, make, incident_id).json["due_at"] == "2026-11-26T13:30:00+00:00"
    assert len(_events(session, incident_id, "regulator_clock")) == 1


def test_other_incidents_get_no_clock_and_no_playbook(client, session, make, clock):
    session.add(Setting(key="breach_playbook", value={"auto_start": True, "rotate": []}))
    session.commit()
    incident_id = _alert(client, make, "Checkout is down")
    response = _clock(client, make, incident_id)
    assert response.status_code == 409
    assert "not a security breach" in response.json["error"]["message"]
    assert session.scalars(select(RegulatorClock)).all() == []
    assert session.scalars(select(PlaybookRun)).all() == []


def test_no_playbook_run_without_auto_start(client, session, make, clock):
    session.add(Setting(key="breach_playbook", value={"auto_start": False, "rotate": []}))
    session.commit()
    _alert(client, make, BREACH)
    assert session.scalars(select(PlaybookRun)).all() == []


def test_notified_stops_the_clock_once(client, session, make, clock):
    incident_id = _alert(client, make, BREACH)
    admin = make.api_key("admin")
    clock.advance(hours=30)
    response = _notify(client, admin, incident_id, {"reference": "  ICO-2026-0042 "})
    assert response.status_code == 200
    assert response.json["notified_at"] == "2026-11-24T14:30:00+00:00"
    assert response.json["reference"] == "ICO-2026-0042" and response.json["notified_by"] == "api key tests-admin"
    session.commit()
    assert session.get(RegulatorClock, incident_id).check_at is None

    again = _notify(client, admin, incident_id, {"reference": "ICO-2026-0043"})
    assert again.status_code == 409 and "already recorded" in again.json["error"]["message"]
    assert _clock(client, make, incident_id).json["reference"] == "ICO-2026-0042"
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "regulator.notified")).all()) == 1


def test_a_late_notification_is_recorded_as_late(client, session, make, clock):
    incident_id = _alert(client, make, BREACH)
    clock.advance(hours=73, minutes=15)
    response = _notify(client, make.api_key("admin"), incident_id, {"reference": "ICO-late"})
    assert response.status_code == 200
    assert _events(session, incident_id, "regulator_notified") == [
        "Supervisory authority notified (reference ICO-late), recorded by api key tests-admin, "
        "1h 15m after the deadline"]


def test_bad_notifications_are_refused_and_store_nothing(client, session, make, clock):
    breach = _alert(client, make, BREACH, dedup_key="b")
    admin = make.api_key("admin")
    for body in ({}, {"reference": ""}, {"reference": "   "}, {"reference": "x" * 201}):
        assert _notify(client, admin, breach, body).status_code == 422, body
    assert _notify(client, make.api_key("write", name="ops"), breach, {"reference": "ICO-1"}).status_code == 403
    assert _notify(client, admin, 999_999, {"reference": "ICO-1"}).status_code == 404
    outage = _alert(client, make, "Checkout is down", dedup_key="o")
    refused = _notify(client, admin, outage, {"reference": "ICO-1"})
    assert refused.status_code == 409 and "not a security breach" in refused.json["error"]["message"]
    session.commit()
    assert session.get(RegulatorClock, outage) is None
    row = session.get(RegulatorClock, breach)
    assert row.notified_at is None and row.reference is None and row.check_at is not None
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "regulator.notified")).all() == []
    assert _events(session, breach, "regulator_notified") == []


def test_a_clock_stands_down_when_the_incident_is_no_longer_a_breach(client, session, make, clock):
    incident_id = _alert(client, make, BREACH)
    writer = make.api_key("write")

    def reclassify(category: str):
        response = client.post(f"/api/v1/incidents/{incident_id}/reclassify", headers=bearer(writer),
                               json={"severity_class": 1, "reason": "triage", "category": category})
        assert response.status_code == 200, response.json

    def sweep(hours: int):
        clock.at = AWARE + timedelta(hours=hours)
        regulator.sweep(session, now=clock.at)
        session.commit()

    reclassify("outage")  # a false alarm
    sweep(48)
    assert _events(session, incident_id, "regulator_warning") == []
    assert _events(session, incident_id, "regulator_clock")[-1] == (
        "Regulator's deadline no longer tracked: the incident is no longer a security_breach")
    reclassify("security_breach")  # it was one after all: the first awareness time stands
    assert _events(session, incident_id, "regulator_clock")[-1] == (
        "Regulator's deadline tracked again: notify the supervisory authority by 2026-11-26 08:30 UTC")
    sweep(49)
    assert _events(session, incident_id, "regulator_warning") == [
        "Regulator's deadline in 24 h: notify the supervisory authority by 2026-11-26 08:30 UTC; "
        "nobody could be reached"]
