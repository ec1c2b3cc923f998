"""The SLA sweep, end to end with a moved clock: warnings at 50% and 80% of the response time to
the current escalation target and the triage on-call, the breach at the deadline (the next step at
once, the admins told), each exactly once however often the engine ticks; an acknowledgement in
time means no breach."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from incidents.models import EscalationPolicy, Incident, IncidentEvent, Page, Rotation, RotationMember, User
from incidents.services.engine.sla_sweep import BREACH_STEP, WARNING_STEP
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.helpers import bearer
from tests.test_paging_flow import ANA, LEE, MONDAY_NIGHT, alert, paging  # noqa: F401

TOM = "+15005550002"


@pytest.fixture
def triage(session, paging):  # noqa: F811
    """Tom is on triage; the out-of-hours step waits three hours, past the class-1 deadline."""
    tom = User(email="tom@ops.example", name="Tom Reyes", role="ops_engineer", phone=TOM,
               slack_user_id="U0TOM", created_at=MONDAY_NIGHT)
    rotation = Rotation(name="triage", timezone="Europe/London", handoff_weekday=0, handoff_time="09:00",
                        start_date=date(2026, 11, 2), created_at=MONDAY_NIGHT)
    rotation.members = [RotationMember(position=0, user=tom)]
    session.add_all([tom, rotation])
    policy = session.scalars(select(EscalationPolicy)).one()
    steps = [dict(step) for step in policy.steps]
    steps[1]["escalate_after"] = 3 * 3600
    policy.steps = steps
    session.commit()


def at(clock, paging, hours: int, minutes: int = 0):  # noqa: F811
    clock.at = MONDAY_NIGHT + timedelta(hours=hours, minutes=minutes)
    paging.tick()


def fresh(session, incident_id) -> Incident:
    session.commit()  # a new snapshot: the engine committed in its own sessions
    incident = session.get(Incident, incident_id)
    session.refresh(incident)
    return incident


def sla_events(session, incident_id):
    session.commit()
    return [e.message for e in session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.kind.like("sla_%")).order_by(IncidentEvent.id))]


def pages(session, incident_id, step):
    session.commit()
    return sorted((p.recipient, p.channel) for p in session.scalars(select(Page).where(
        Page.incident_id == incident_id, Page.step == step)))


def test_warnings_at_half_and_four_fifths_then_the_breach(paging, alert, triage, clock, session,  # noqa: F811
                                                          fake_twilio, fake_slack):  # noqa: F811
    incident_id = alert()  # class 1 at 22:00 UTC: due at midnight; Ana (out of hours) paged
    ana, lee, tom = (session.scalars(select(User.id).where(User.email == e)).one()
                     for e in ("ana@ops.example", "lee@ops.example", "tom@ops.example"))
    assert len(fake_twilio.bodies_to(ANA)) == 1

    at(clock, paging, 0, 59)
    assert sla_events(session, incident_id) == []

    at(clock, paging, 1)
    at(clock, paging, 1, 1)  # a second tick sends nothing twice
    assert sla_events(session, incident_id) == [
        "SLA warning: 50% of the response time used (due 2026-11-24 00:00 UTC); "
        "told Ana Silva by SMS and Slack, Tom Reyes by SMS and Slack"]
    assert pages(session, incident_id, WARNING_STEP) == [
        (f"user:{ana}", "slack"), (f"user:{ana}", "sms"), (f"user:{tom}", "slack"), (f"user:{tom}", "sms")]
    assert len(fake_twilio.bodies_to(ANA)) == 2 and len(fake_twilio.bodies_to(TOM)) == 1
    # A warning says what it is first, on both channels, so nobody takes it for a repeated page.
    assert fake_twilio.bodies_to(TOM)[0].startswith(
        f"Vigil SLA warning #{incident_id} C1 acme: Checkout is down. Respond by")
    warned = [m for m in fake_slack.posts if m.text.startswith("Vigil SLA warning")]
    assert len(warned) == 2 and "SLA warning" in warned[0].blocks[0]["text"]["text"]

    at(clock, paging, 1, 36)
    at(clock, paging, 1, 40)
    assert len(sla_events(session, incident_id)) == 2
    assert sla_events(session, incident_id)[1].startswith("SLA warning: 80% of the response time used")
    assert len(pages(session, incident_id, WARNING_STEP - 1)) == 4
    assert fake_twilio.bodies_to(LEE) == []

    at(clock, paging, 2)
    at(clock, paging, 2, 5)
    incident = fresh(session, incident_id)
    assert incident.breached_at == MONDAY_NIGHT + timedelta(hours=2)
    assert incident.sla_check_at is None
    assert sla_events(session, incident_id)[2] == (
        "SLA breached: no response by 2026-11-24 00:00 UTC; told Lee Mensah by SMS and Slack")
    assert pages(session, incident_id, BREACH_STEP) == [(f"user:{lee}", "slack"), (f"user:{lee}", "sms")]
    # The next step (Lee) fired at the breach, not three hours later.
    assert pages(session, incident_id, 2) == [(f"user:{lee}", "slack"), (f"user:{lee}", "sms")]
    assert len(fake_twilio.bodies_to(LEE)) == 2
    notice, = [b for b in fake_twilio.bodies_to(LEE) if "SLA BREACHED" in b]
    assert notice.startswith(f"Vigil SLA BREACHED #{incident_id} C1 acme: Checkout is down. Was due ")
    assert len(sla_events(session, incident_id)) == 3

    at(clock, paging, 3)
    assert len(sla_events(session, incident_id)) == 3
    assert len(fake_twilio.bodies_to(LEE)) == 2


def test_an_acknowledgement_in_time_means_no_breach(paging, alert, triage, clock, session, make,  # noqa: F811
                                                    fake_twilio):  # noqa: F811
    incident_id = alert()
    at(clock, paging, 1)
    assert len(sla_events(session, incident_id)) == 1
    key = make.api_key("write")
    clock.at = MONDAY_NIGHT + timedelta(hours=1, minutes=10)
    response = paging.app.test_client().post(f"/api/v1/incidents/{incident_id}/acknowledge",
                                             headers=bearer(key))
    assert response.status_code == 200
    for hours in (1, 2, 3):
        at(clock, paging, hours, 30)
    incident = fresh(session, incident_id)
    assert incident.responded_at == MONDAY_NIGHT + timedelta(hours=1, minutes=10)
    assert incident.breached_at is None and incident.sla_check_at is None
    assert len(sla_events(session, incident_id)) == 1
    assert fake_twilio.bodies_to(LEE) == []


def test_a_paused_clock_is_not_swept(paging, alert, triage, clock, session, make):  # noqa: F811
    incident_id = alert()
    key = make.api_key("write")
    clock.at = MONDAY_NIGHT + timedelta(minutes=50)
    response = paging.app.test_client().post(f"/api/v1/incidents/{incident_id}/pause",
                                             json={"reason": "waiting on the customer"}, headers=bearer(key))
    assert response.status_code == 200
    at(clock, paging, 3)
    assert sla_events(session, incident_id) == ["SLA clock paused: waiting on the customer"]
    clock.at = MONDAY_NIGHT + timedelta(hours=3)
    paging.app.test_client().post(f"/api/v1/incidents/{incident_id}/resume", headers=bearer(key))
    at(clock, paging, 3, 10)  # 50 + 10 minutes used: the 50% warning, no breach
    events = sla_events(session, incident_id)
    assert events[1] == "SLA clock resumed after 2h 10m"
    assert events[2].startswith("SLA warning: 50% of the response time used (due 2026-11-24 02:10 UTC)")
    assert len(events) == 3
