"""Maintenance windows: alerts are recorded and incidents opened during one, but nobody is paged
until it ends, and then only for incidents still unacknowledged; bad windows are refused."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

import workers.tasks.engine  # noqa: F401  (registers engine.tick)
from incidents.models import Alert, AuditEvent, IncidentEvent, MaintenanceWindow
from incidents.services.maintenance import covering_end
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.helpers import bearer
from tests.test_paging_flow import ANA, MONDAY_NIGHT, alert, paging  # noqa: F401

WINDOWS = "/api/v1/services/checkout/maintenance-windows"


def iso(hours: float) -> str:
    return (MONDAY_NIGHT + timedelta(hours=hours)).isoformat()


@pytest.fixture
def api(paging, alert, make):  # noqa: F811
    """A client with a write key, once the checkout service exists (made by `alert`)."""
    client, key = paging.app.test_client(), make.api_key("write")

    def call(method, path=WINDOWS, **kwargs):
        return getattr(client, method)(path, headers=bearer(key), **kwargs)
    return call


def plan(api, start=-0.5, end=1.0, reason="database upgrade"):
    response = api("post", json={"starts_at": iso(start), "ends_at": iso(end), "reason": reason})
    assert response.status_code == 201, response.json
    return response.json


def pages_to_ana(fake_twilio):
    """Escalation pages (the SLA sweep's warnings, at 50% of the hour, are not held)."""
    return [body for body in fake_twilio.bodies_to(ANA) if "SLA" not in body]


def events(session, incident_id):
    session.commit()
    return session.scalars(select(IncidentEvent.message).where(IncidentEvent.incident_id == incident_id)
                           .order_by(IncidentEvent.id)).all()


def test_alerts_are_recorded_but_pages_held_until_the_window_ends(api, alert, paging, fake_twilio, clock, session):  # noqa: F811
    plan(api)
    incident_id = alert()
    assert alert() == incident_id  # a repeat is still counted
    paging.tick()
    assert fake_twilio.messages == []
    assert session.scalar(select(func.count()).select_from(Alert)) == 2
    assert "In maintenance: paging held until 2026-11-23 23:00 UTC" in events(session, incident_id)
    clock.advance(minutes=59)
    paging.tick()
    assert fake_twilio.messages == []
    clock.advance(minutes=1)
    paging.tick()
    [sms] = pages_to_ana(fake_twilio)
    assert sms.startswith(f"Vigil #{incident_id} C1 acme: Checkout is down.")
    assert "Maintenance over and still unacknowledged: the held pages go out now" in events(session, incident_id)


def test_an_incident_acknowledged_during_the_window_pages_nobody(api, alert, paging, fake_twilio, clock, make):  # noqa: F811
    plan(api)
    incident_id = alert()
    response = api("post", f"/api/v1/incidents/{incident_id}/acknowledge")
    assert response.status_code == 200
    clock.advance(hours=3)
    paging.tick()
    assert fake_twilio.messages == []


def test_ending_a_window_now_releases_held_pages(api, alert, paging, fake_twilio):  # noqa: F811
    window = plan(api, end=5)
    incident_id = alert()
    assert api("delete", f"{WINDOWS}/{window['id']}").status_code == 204
    paging.tick()
    assert [f"#{incident_id}" in body for body in pages_to_ana(fake_twilio)] == [True]
    assert api("get").json["items"] == []


def test_overlapping_windows_hold_until_the_last_ends(api, alert, paging, fake_twilio, clock, session):  # noqa: F811
    plan(api, -0.5, 1.0)
    plan(api, 0.5, 2.0, "and the replica")
    incident_id = alert()
    assert "In maintenance: paging held until 2026-11-24 00:00 UTC" in events(session, incident_id)
    clock.advance(hours=1, minutes=30)
    paging.tick()
    assert fake_twilio.messages == []
    clock.advance(minutes=30)
    paging.tick()
    assert len(pages_to_ana(fake_twilio)) == 1


def test_windows_are_listed_audited_and_a_coming_one_can_be_cancelled(api, session):
    now = plan(api)
    coming = plan(api, 24, 26, "network work")
    listed = api("get").json["items"]
    assert [(w["reason"], w["created_by"]) for w in listed] == [("database upgrade", "api key tests-write"),
                                                                ("network work", "api key tests-write")]
    assert api("delete", f"{WINDOWS}/{coming['id']}").status_code == 204
    assert [w["id"] for w in api("get").json["items"]] == [now["id"]]
    session.commit()
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["maintenance.create", "maintenance.create", "maintenance.cancel"]


@pytest.mark.parametrize("body, message", [
    ({"starts_at": iso(2), "ends_at": iso(1), "reason": "x"}, "ends_at: must be after starts_at"),
    ({"starts_at": iso(-3), "ends_at": iso(-1), "reason": "x"}, "ends_at: the window would be over already"),
    ({"starts_at": iso(0), "ends_at": iso(24 * 7 + 1), "reason": "x"}, "ends_at: a window lasts at most 7 days"),
    ({"starts_at": iso(0), "ends_at": iso(1), "reason": "  "}, "reason: say why"),
    ({"starts_at": "9999-12-31T22:00:00-01:00", "ends_at": "9999-12-31T23:00:00-01:00", "reason": "x"},
     "starts_at: plan at most 366 days ahead"),
    ({"starts_at": "2026-11-23T22:00:00", "ends_at": iso(1), "reason": "x"}, "starts_at"),
    ({"starts_at": iso(0), "reason": "x"}, "ends_at"),
])
def test_bad_windows_are_refused_and_nothing_is_stored(api, session, body, message):
    response = api("post", json=body)
    assert response.status_code == 422
    assert message in response.json["error"]["message"]
    session.commit()
    assert session.scalar(select(func.count()).select_from(MaintenanceWindow)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_unknown_service_window_and_read_keys(api, make, paging):  # noqa: F811
    body = {"starts_at": iso(0), "ends_at": iso(1), "reason": "x"}
    assert api("post", "/api/v1/services/nope/maintenance-windows", json=body).status_code == 404
    assert api("delete", f"{WINDOWS}/99").status_code == 404
    reader = bearer(make.api_key("read"))
    client = paging.app.test_client()
    assert client.post(WINDOWS, headers=reader, json=body).status_code == 403
    assert client.get(WINDOWS, headers=reader).status_code == 200


def _at(hours: float) -> datetime:
    return datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=hours)


@pytest.mark.parametrize("windows, now, until", [
    ([], 0, None),
    ([(1, 2)], 0, None),  # coming, not yet
    ([(0, 2)], 2, None),  # over at its end
    ([(0, 2)], 1, 2),
    ([(0, 2), (1, 3)], 1, 3),  # overlapping
    ([(0, 2), (2, 3)], 1, 3),  # touching
    ([(0, 2), (2.5, 3)], 1, 2),  # a gap: paged in between
    ([(2, 5), (0, 3), (4.5, 6)], 1, 6),
])
def test_covering_end(windows, now, until):
    pairs = [(_at(a), _at(b)) for a, b in windows]
    assert covering_end(pairs, _at(now)) == (None if until is None else _at(until))
