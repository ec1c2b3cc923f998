"""The response clock through the API: deadlines on 24x7 and working-hours clocks, pauses that
move them and show on the timeline, the first response that stops it, and bad pauses refused."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from incidents.models import Customer, Incident, IncidentEvent, Setting, SlaPause
from tests.helpers import bearer

UTC = timezone.utc
LONDON_HOURS = {"timezone": "Europe/London", "days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:30",
                "holidays": ["2026-11-24"]}


@pytest.fixture
def key(make):
    make.rules()
    make.service()
    return make.api_key("write")


def report(client, key, title="Checkout outage in eu-west", **fields):
    body = {"title": title, "description": "Customers cannot pay", "customer": "acme", **fields}
    response = client.post("/api/v1/incidents", json=body, headers=bearer(key))
    assert response.status_code == 201, response.json
    return response.json


def act(client, key, incident_id, verb, **body):
    return client.post(f"/api/v1/incidents/{incident_id}/{verb}", json=body, headers=bearer(key))


def timeline(client, key, incident_id):
    return client.get(f"/api/v1/incidents/{incident_id}/timeline", headers=bearer(key)).json["items"]


def stored(session, incident_id):
    session.rollback()  # a fresh snapshot: the requests committed in their own sessions
    return session.get(Incident, incident_id)


def test_24x7_deadline_and_first_sweep_look_at_half_time(client, key, clock, session):
    incident = report(client, key)  # class 1: 120 minutes, opened Monday 08:30 UTC
    assert incident["response_due_at"] == "2026-11-23T10:30:00+00:00"
    row = stored(session, incident["id"])
    assert row.sla_check_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert (row.responded_at, row.breached_at, row.sla_warned) == (None, None, 0)


def test_a_working_hours_class_skips_the_night_and_a_holiday(client, key, clock, session):
    session.add(Setting(key="working_hours", value=LONDON_HOURS))
    acme = session.scalars(select(Customer).where(Customer.slug == "acme")).one()
    acme.sla_clock, acme.sla_minutes = {"3": "working_hours"}, {"3": 240}
    session.commit()
    clock.at = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # Monday 16:30 in London (GMT)
    incident = report(client, key, title="Typo on the invoice page")
    assert incident["severity_class"] == 3
    # One hour on Monday; Tuesday is a holiday; three hours on Wednesday from 09:00.
    assert incident["response_due_at"] == "2026-11-25T12:00:00+00:00"
    # Class 1 stays 24x7 for the same customer.
    assert report(client, key)["response_due_at"] == "2026-11-23T18:30:00+00:00"


def test_a_pause_moves_the_deadline_and_is_on_the_timeline(client, key, clock, session):
    incident = report(client, key)
    clock.advance(minutes=30)
    paused = act(client, key, incident["id"], "pause", reason="waiting on the customer")
    assert paused.status_code == 200, paused.json
    assert paused.json["clock"]["paused"] is True
    assert stored(session, incident["id"]).sla_check_at is None  # the sweep leaves a paused clock alone
    clock.advance(hours=1, minutes=20)
    resumed = act(client, key, incident["id"], "resume")
    assert resumed.status_code == 200, resumed.json
    assert resumed.json["incident"]["response_due_at"] == "2026-11-23T11:50:00+00:00"
    assert resumed.json["clock"]["paused"] is False
    # 30 minutes used before the pause: the 50% look is 30 minutes after resuming.
    assert stored(session, incident["id"]).sla_check_at == datetime(2026, 11, 23, 10, 50, tzinfo=UTC)
    messages = [e["message"] for e in timeline(client, key, incident["id"])]
    assert "SLA clock paused: waiting on the customer" in messages
    assert "SLA clock resumed after 1h 20m" in messages


def test_reclassify_recomputes_from_the_opening_time_with_the_pauses(client, key, clock):
    incident = report(client, key, title="Report export is slow")  # class 2: 6 hours
    clock.advance(minutes=10)
    act(client, key, incident["id"], "pause", reason="waiting on the customer")
    clock.advance(minutes=30)
    act(client, key, incident["id"], "resume")
    response = act(client, key, incident["id"], "reclassify", severity_class=1, reason="customer cannot invoice")
    assert response.json["response_due_at"] == "2026-11-23T11:00:00+00:00"


@pytest.mark.parametrize("verb", ["acknowledge", "comment", "assign", "resolve"])
def test_the_first_response_by_a_person_stops_the_clock(client, key, clock, session, make, verb):
    make.user("ana@ops.example")
    incident = report(client, key)
    act(client, key, incident["id"], "pause", reason="waiting on the customer")
    clock.advance(minutes=7)
    body = {"comment": {"text": "looking"}, "assign": {"assignee": "ana@ops.example"}}.get(verb, {})
    assert act(client, key, incident["id"], verb, **body).status_code == 200
    row = stored(session, incident["id"])
    assert row.responded_at == clock.at and row.sla_check_at is None
    session.rollback()
    assert session.scalars(select(SlaPause)).one().ended_at == clock.at


@pytest.mark.parametrize("setup, verb, body, status, message", [
    ([], "pause", {}, 422, "reason"),
    ([], "pause", {"reason": "   "}, 422, "reason"),
    ([], "pause", {"reason": "x" * 501}, 422, "reason"),
    ([], "resume", {}, 409, "not paused"),
    ([("pause", {"reason": "waiting"})], "pause", {"reason": "again"}, 409, "already paused"),
    ([("resolve", {})], "pause", {"reason": "waiting"}, 409, "resolved"),
    ([("acknowledge", {})], "pause", {"reason": "waiting"}, 409, "responded"),
])
def test_bad_pauses_are_refused_and_nothing_is_stored(client, key, session, clock, setup, verb, body, status, message):
    incident = report(client, key)
    for step, step_body in setup:
        assert act(client, key, incident["id"], step, **step_body).status_code == 200
    session.rollback()
    pauses_before = session.scalar(select(func.count()).select_from(SlaPause))
    events_before = session.scalar(select(func.count()).select_from(IncidentEvent))
    response = act(client, key, incident["id"], verb, **body)
    assert response.status_code == status
    assert message in str(response.json)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(SlaPause)) == pauses_before
    assert session.scalar(select(func.count()).select_from(IncidentEvent)) == events_before


def test_a_pause_on_a_missing_incident_is_404_and_needs_a_write_key(client, key, make):
    assert act(client, key, 999, "pause", reason="waiting").status_code == 404
    read = make.api_key("read")
    response = client.post("/api/v1/incidents/1/pause", json={"reason": "x"}, headers=bearer(read))
    assert response.status_code == 403


def test_the_api_shows_when_an_incident_was_answered(client, make, clock):
    make.rules()
    key = make.api_key("write")
    headers = {"Authorization": f"Bearer {key}"}
    make.customer("acme")
    made = client.post("/api/v1/incidents", headers=headers, json={
        "title": "Checkout is slow", "description": "", "customer": "acme"}).json
    assert made["responded_at"] is None and made["breached_at"] is None
    clock.advance(minutes=7)
    acked = client.post(f"/api/v1/incidents/{made['id']}/acknowledge", headers=headers).json
    assert acked["responded_at"] == "2026-11-23T08:37:00Z" or acked["responded_at"].startswith("2026-11-23T08:37:00")
