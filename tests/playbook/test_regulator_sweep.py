"""The regulator's clock on a breach incident, end to end with a moved clock: a breach alert starts
it (72 hours to notify the supervisory authority), the admins are warned with 24 and 6 hours left
and paged when the deadline passes, each once however often the engine ticks; recording the
notification stops it. Real twilio and slack_sdk clients talk to loopback fakes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from incidents.models import AuditEvent, IncidentEvent, Page, RegulatorClock, User
from incidents.services.playbook.regulator import OVERDUE_STEP, WARNING_STEP
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.helpers import bearer
from tests.test_paging_flow import ANA, LEE, MONDAY_NIGHT, alert, paging  # noqa: F401

BREACH = "Customer data breach on checkout"


def at(clock, paging, hours: int, minutes: int = 0):  # noqa: F811
    clock.at = MONDAY_NIGHT + timedelta(hours=hours, minutes=minutes)
    paging.tick()


def regulator_events(session, incident_id):
    session.commit()  # a new snapshot: the engine committed in its own sessions
    return [e.message for e in session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.kind.like("regulator%")).order_by(IncidentEvent.id))]


def pages(session, incident_id, step):
    session.commit()
    return sorted((p.recipient, p.channel) for p in session.scalars(select(Page).where(
        Page.incident_id == incident_id, Page.step == step)))


def gdpr_texts(fake_twilio, number):
    return [body for body in fake_twilio.bodies_to(number) if body.startswith("Vigil GDPR")]


def test_admins_are_warned_a_day_and_six_hours_ahead_then_paged_at_the_deadline(
        paging, alert, clock, session, fake_twilio, fake_slack):  # noqa: F811
    incident_id = alert(summary=BREACH, dedup_key="breach")  # aware at Monday 22:00 UTC
    lee = session.scalar(select(User.id).where(User.email == "lee@ops.example"))
    assert regulator_events(session, incident_id) == [
        "Regulator's deadline (GDPR, 72 h): notify the supervisory authority by 2026-11-26 22:00 UTC"]

    at(clock, paging, 47, 59)
    assert len(regulator_events(session, incident_id)) == 1 and gdpr_texts(fake_twilio, LEE) == []

    at(clock, paging, 48)
    at(clock, paging, 48, 1)  # a second tick sends nothing twice
    assert regulator_events(session, incident_id)[1] == (
        "Regulator's deadline in 24 h: notify the supervisory authority by 2026-11-26 22:00 UTC; "
        "told Lee Mensah by SMS and Slack")
    assert pages(session, incident_id, WARNING_STEP) == [(f"user:{lee}", "slack"), (f"user:{lee}", "sms")]
    # Only admins hear of it (Lee); the SMS says what it is first, without the response deadline.
    [warning] = gdpr_texts(fake_twilio, LEE)
    assert warning.startswith(f"Vigil GDPR deadline in 24 h #{incident_id} C1 acme: {BREACH}. Reply ")
    assert gdpr_texts(fake_twilio, ANA) == []
    assert [m for m in fake_slack.posts if m.text.startswith("Vigil GDPR deadline in 24 h")]

    at(clock, paging, 66)
    at(clock, paging, 67)
    assert regulator_events(session, incident_id)[2].startswith("Regulator's deadline in 6 h:")
    assert len(pages(session, incident_id, WARNING_STEP - 1)) == 2
    assert len(gdpr_texts(fake_twilio, LEE)) == 2

    at(clock, paging, 72)
    at(clock, paging, 73)
    events = regulator_events(session, incident_id)
    assert events[3] == ("Regulator's deadline passed at 2026-11-26 22:00 UTC with no notification of the "
                         "supervisory authority recorded; told Lee Mensah by SMS and Slack")
    assert len(events) == 4
    assert pages(session, incident_id, OVERDUE_STEP) == [(f"user:{lee}", "slack"), (f"user:{lee}", "sms")]
    assert gdpr_texts(fake_twilio, LEE)[-1].startswith(f"Vigil GDPR deadline PASSED #{incident_id} C1 acme:")
    row = session.get(RegulatorClock, incident_id)
    session.refresh(row)
    assert row.overdue_at == MONDAY_NIGHT + timedelta(hours=72) and row.check_at is None


def test_recording_the_notification_stops_the_clock(paging, alert, clock, session, make,  # noqa: F811
                                                    fake_twilio):  # noqa: F811
    incident_id = alert(summary=BREACH, dedup_key="breach")
    at(clock, paging, 48)
    assert len(gdpr_texts(fake_twilio, LEE)) == 1
    clock.at = MONDAY_NIGHT + timedelta(hours=50)
    response = paging.app.test_client().post(
        f"/api/v1/incidents/{incident_id}/regulator-notified", json={"reference": "ICO case 00123"},
        headers=bearer(make.api_key("admin")))
    assert response.status_code == 200, response.json
    assert response.json["notified"] is True and response.json["reference"] == "ICO case 00123"
    for hours in (66, 72, 80):
        at(clock, paging, hours)
    assert len(gdpr_texts(fake_twilio, LEE)) == 1
    assert regulator_events(session, incident_id)[-1] == (
        "Supervisory authority notified (reference ICO case 00123), recorded by api key tests-admin")
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "regulator.notified")).all()
    assert event.target == f"incident {incident_id}" and event.details["reference"] == "ICO case 00123"


def test_after_an_outage_only_the_warning_that_is_true_goes_out(paging, alert, clock, session,  # noqa: F811
                                                                 fake_twilio):  # noqa: F811
    incident_id = alert(summary=BREACH, dedup_key="breach")
    at(clock, paging, 68)  # nobody ticked for 68 hours: 4 left
    assert [e.split(":")[0] for e in regulator_events(session, incident_id)[1:]] == ["Regulator's deadline in 6 h"]
    assert pages(session, incident_id, WARNING_STEP) == []
    assert len(gdpr_texts(fake_twilio, LEE)) == 1


def test_other_incidents_have_no_regulator_clock(paging, alert, clock, session, fake_twilio):  # noqa: F811
    incident_id = alert()  # "Checkout is down": an outage
    for hours in (48, 72):
        at(clock, paging, hours)
    assert regulator_events(session, incident_id) == []
    assert session.scalars(select(RegulatorClock)).all() == []
    assert gdpr_texts(fake_twilio, LEE) == []
