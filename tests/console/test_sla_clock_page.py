"""The SLA clock on the incident page: its state, and pausing and resuming it from the console."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import SlaPause
from tests.console.test_incident_pages import events, fire, html, reload  # noqa: F401 (fixture)


def pauses(session, incident_id) -> list[SlaPause]:
    session.commit()
    session.expire_all()
    return list(session.scalars(select(SlaPause).where(SlaPause.incident_id == incident_id)))


def test_ops_engineer_pauses_with_a_reason_then_resumes_and_the_deadline_moves(console, fire, session, clock):
    incident_id = fire()  # class 1: 2 hours
    due = reload(session, incident_id).response_due_at
    ops = console(Role.OPS_ENGINEER)
    page = html(ops.get(f"/incidents/{incident_id}"))
    assert "Pause SLA clock" in page and "Resume SLA clock" not in page
    assert 'id="sla-clock"' in page and "running" in page

    response = ops.post(f"/incidents/{incident_id}/pause", {"reason": "Waiting on the customer's logs"})
    assert response.status_code == 303 and response.headers["Location"] == f"/incidents/{incident_id}"
    page = html(ops.get(f"/incidents/{incident_id}"))
    assert f"SLA clock of #{incident_id} paused" in page  # the flash
    assert "paused</span> since 2026-11-23 08:30" in page and "Waiting on the customer&#39;s logs" in page
    assert "Resume SLA clock" in page and "Pause SLA clock" not in page
    [row] = pauses(session, incident_id)
    assert (row.reason, row.actor, row.ended_at) == ("Waiting on the customer's logs", "ops-engineer@ops.example", None)

    clock.advance(minutes=45)
    assert ops.post(f"/incidents/{incident_id}/resume").status_code == 303
    page = html(ops.get(f"/incidents/{incident_id}"))
    assert "resumed" in page and "Pause SLA clock" in page
    assert reload(session, incident_id).response_due_at == due + timedelta(minutes=45)
    kinds = [(e.kind, e.source) for e in events(session, incident_id)]
    assert ("sla_paused", "console") in kinds and ("sla_resumed", "console") in kinds
    assert "SLA clock resumed after 45m" in page  # the timeline


def test_a_pause_without_a_reason_is_refused_and_nothing_is_stored(console, fire, session):
    incident_id = fire()
    ops = console(Role.OPS_ENGINEER)
    response = ops.post(f"/incidents/{incident_id}/pause", {"reason": "   "})
    assert response.status_code == 422
    assert "Say why the SLA clock stops" in html(response)
    response = ops.post(f"/incidents/{incident_id}/pause", {"reason": "x" * 501})
    assert response.status_code == 422 and "at most 500 characters" in html(response)
    assert pauses(session, incident_id) == []
    assert [e.kind for e in events(session, incident_id)] == ["opened"]


def test_service_conflicts_are_shown_and_nothing_is_stored(console, fire, session):
    incident_id = fire()
    ops = console(Role.OPS_ENGINEER)
    response = ops.post(f"/incidents/{incident_id}/resume")
    assert response.status_code == 409 and "is not paused; there is nothing to resume" in html(response)
    assert ops.post(f"/incidents/{incident_id}/pause", {"reason": "waiting on the customer"}).status_code == 303
    response = ops.post(f"/incidents/{incident_id}/pause", {"reason": "again"})
    assert response.status_code == 409 and "already paused" in html(response)
    assert "Resume SLA clock" in html(response)  # the page shows the clock as it is: paused
    assert len(pauses(session, incident_id)) == 1


def test_an_answered_incident_shows_responded_and_cannot_be_paused(console, fire, session):
    incident_id = fire()
    ops = console(Role.OPS_ENGINEER)
    assert ops.post(f"/incidents/{incident_id}/acknowledge").status_code == 303
    page = html(ops.get(f"/incidents/{incident_id}"))
    assert "responded</span> at 2026-11-23 08:30" in page and "within the deadline" in page
    assert "Pause SLA clock" not in page
    response = ops.post(f"/incidents/{incident_id}/pause", {"reason": "waiting on the customer"})
    assert response.status_code == 409 and "its SLA clock has stopped" in html(response)
    assert pauses(session, incident_id) == []


def test_a_breached_incident_shows_when(console, fire, session, clock):
    incident_id = fire()
    incident = reload(session, incident_id)
    incident.breached_at = incident.response_due_at
    session.commit()
    page = html(console(Role.VIEWER).get(f"/incidents/{incident_id}"))
    assert "breached</span> at 2026-11-23 10:30" in page


def test_viewers_and_responders_cannot_pause_or_resume(console, fire, session):
    incident_id = fire()
    for role in (Role.VIEWER, Role.RESPONDER):
        who = console(role)
        page = html(who.get(f"/incidents/{incident_id}"))
        assert f"/incidents/{incident_id}/pause" not in page and "Pause SLA clock" not in page
        assert who.post(f"/incidents/{incident_id}/pause", {"reason": "waiting"}).status_code == 403
        assert who.post(f"/incidents/{incident_id}/resume").status_code == 403
    assert pauses(session, incident_id) == []


def test_a_pause_without_the_csrf_token_is_refused(console, fire, session):
    incident_id = fire()
    ops = console(Role.OPS_ENGINEER)
    response = ops.post(f"/incidents/{incident_id}/pause", {"reason": "waiting"}, csrf=False)
    assert response.status_code in (400, 403)
    assert pauses(session, incident_id) == []


def test_lists_say_paused_instead_of_counting_down(console, fire, session, clock):
    paused_id, running_id = fire(), fire("Checkout slow")
    ops = console(Role.OPS_ENGINEER)
    assert ops.post(f"/incidents/{paused_id}/pause", {"reason": "Waiting on the customer"}).status_code == 303
    # The Now page lists it twice: among class 1 and among the unassigned.
    for url, times in (("/incidents", 1), ("/", 2), (f"/incidents/{paused_id}", 1)):
        assert html(ops.get(url)).count("SLA clock paused</span>") == times, url
    listing = html(ops.get("/incidents"))
    assert "left</time>" in listing  # the other incident still counts down
