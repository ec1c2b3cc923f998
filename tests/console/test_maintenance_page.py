"""A service's page: its maintenance windows (plan, end now, cancel; audited; bad input refused on
the form) and its heartbeats; incidents of a service in maintenance carry a badge."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from incidents.domain.enums import Role
from incidents.models import AuditEvent, MaintenanceWindow
from incidents.services import heartbeats


def text(response) -> str:
    return response.get_data(as_text=True)


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def service(make):
    return make.service(types=("generic",)).service


def test_ops_engineer_plans_and_ends_maintenance(console, service, session, clock):
    ops = console(Role.OPS_ENGINEER)
    assert "No maintenance now or planned" in text(ops.get("/services/checkout"))
    response = ops.post("/services/checkout/maintenance-windows",
                        {"starts_at": "", "ends_at": "2026-11-23T10:00", "reason": "database upgrade"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/services/checkout#maintenance")
    page = text(ops.get("/services/checkout"))
    assert "in maintenance</span>" in page and "database upgrade" in page and "2026-11-23 10:00 UTC" in page
    [window] = session.scalars(select(MaintenanceWindow)).all()
    assert ops.post(f"/services/checkout/maintenance-windows/{window.id}/end").status_code == 303
    assert "No maintenance now or planned" in text(ops.get("/services/checkout"))
    session.rollback()
    assert [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
        "maintenance.create", "maintenance.end"]


@pytest.mark.parametrize("form, message", [
    ({"starts_at": "2026-11-23T12:00", "ends_at": "2026-11-23T10:00", "reason": "x"}, "must be after starts_at"),
    ({"starts_at": "", "ends_at": "2026-12-23T10:00", "reason": "x"}, "a window lasts at most 7 days"),
    ({"starts_at": "", "ends_at": "tomorrow", "reason": "x"}, "is not a date and time"),
    ({"starts_at": "", "ends_at": "2026-11-23T10:00", "reason": ""}, "This field is required"),
])
def test_bad_windows_are_refused_on_the_form(console, service, session, form, message):
    response = console(Role.OPS_ENGINEER).post("/services/checkout/maintenance-windows", form)
    assert response.status_code == 422 and message in text(response)
    assert count(session, MaintenanceWindow) == 0


def test_viewers_cannot_plan_maintenance(console, service, session):
    viewer = console(Role.VIEWER)
    assert "Plan maintenance" not in text(viewer.get("/services/checkout"))
    response = viewer.post("/services/checkout/maintenance-windows",
                           {"starts_at": "", "ends_at": "2026-11-23T10:00", "reason": "x"})
    assert response.status_code == 403 and count(session, MaintenanceWindow) == 0


def test_the_service_page_lists_heartbeats_without_their_keys(console, service, session, clock):
    _, key = heartbeats.create(session, service=service, name="nightly-backup", title="Backup missed",
                               severity_class=2, interval_seconds=86400, grace_seconds=1800, now=clock())
    session.commit()
    page = text(console(Role.VIEWER).get("/services/checkout"))
    assert "nightly-backup" in page and "1d (grace 30m), class 2" in page and key not in page


def test_incidents_of_a_service_in_maintenance_carry_a_badge(console, make, session, clock, client):
    checkout = make.service(types=("generic",))
    ops = console(Role.OPS_ENGINEER)
    ops.post("/services/checkout/maintenance-windows", {"ends_at": "2026-11-23T10:00", "reason": "upgrade"})
    response = client.post("/api/v1/alerts", json={"summary": "disk full"},
                           headers={"Authorization": f"Bearer {checkout.keys['generic']}"})
    incident_id = response.json["alerts"][0]["incident_id"]
    assert "checkout in maintenance until 2026-11-23 10:00 UTC" in text(ops.get(f"/incidents/{incident_id}"))
    assert "in maintenance</span>" in text(ops.get("/incidents"))
    clock.advance(hours=2)
    assert "in maintenance" not in text(ops.get(f"/incidents/{incident_id}")).split("<h1", 1)[1].split("</p>", 1)[0]
    assert "in maintenance</span>" not in text(ops.get("/incidents"))
