"""The incident list and the incident page: what an engineer sees and does during an outage."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import Escalation, EscalationPolicy, Incident, IncidentEvent, Page, User
from incidents.services.engine import escalations
from tests.helpers import bearer

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def fire(client, make):
    """fire(summary) -> the id of the incident an alert to the service `checkout` opened."""
    make.rules()
    svc = make.service()

    def send(summary="Checkout is down", dedup_key=None, severity="critical"):
        response = client.post("/api/v1/alerts", headers=bearer(svc.keys["generic"]), json={
            "summary": summary, "severity": severity, "dedup_key": dedup_key or summary})
        assert response.status_code == 202, response.get_data(as_text=True)
        return response.json["alerts"][0]["incident_id"]
    send.service = svc
    return send


def html(response) -> str:
    return response.get_data(as_text=True)


def fresh(session) -> None:
    """See what the requests committed: a new transaction, and nothing remembered from before."""
    session.commit()
    session.expire_all()


def reload(session, incident_id) -> Incident:
    fresh(session)
    return session.get(Incident, incident_id)


def events(session, incident_id) -> list[IncidentEvent]:
    fresh(session)
    return list(session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                .order_by(IncidentEvent.id)))


# --- the incident page: facts, timeline, actions ----------------------------------------------

def test_responder_acknowledges_from_the_console_and_the_timeline_says_so(console, fire, session):
    incident_id = fire()
    responder = console(Role.RESPONDER)
    page = responder.get(f"/incidents/{incident_id}")
    assert page.status_code == 200
    assert 'data-key="a"' in html(page) and 'data-key="r"' in html(page)
    assert 'id="shortcuts"' in html(page)

    response = responder.post(f"/incidents/{incident_id}/acknowledge")
    assert response.status_code == 303 and response.headers["Location"] == f"/incidents/{incident_id}"
    after = responder.get(f"/incidents/{incident_id}")
    text = html(after)
    assert f"Incident #{incident_id} acknowledged." in text  # the flash
    assert "Acknowledged by responder@ops.example" in text and "via console" in text
    assert 'data-key="a"' not in text  # nothing left to acknowledge
    [ack] = [e for e in events(session, incident_id) if e.kind == "acknowledged"]
    assert (ack.actor, ack.source) == ("responder@ops.example", "console")
    assert reload(session, incident_id).status == "acknowledged"


def test_ops_engineer_reclassifies_with_a_reason_and_the_deadline_follows(console, fire, session, clock):
    incident_id = fire("Checkout is down")  # class 1 by the "outage" rule: 2 hours by default
    before = reload(session, incident_id)
    assert before.severity_class == 1
    old_due = before.response_due_at
    ops = console(Role.OPS_ENGINEER)
    response = ops.post(f"/incidents/{incident_id}/reclassify",
                        {"severity_class": "3", "reason": "Only the staging checkout is affected"})
    assert response.status_code == 303
    incident = reload(session, incident_id)
    assert incident.severity_class == 3
    assert incident.response_due_at - old_due == timedelta(hours=46)  # 2 hours became 48
    text = html(ops.get(f"/incidents/{incident_id}"))
    assert "Class 1 → 3 by ops-engineer@ops.example: Only the staging checkout is affected" in text
    assert 'title="Severity class 3"' in text
    assert incident.response_due_at.strftime("%Y-%m-%d %H:%M UTC") in text


@pytest.mark.parametrize("data, message", [
    ({"severity_class": "3", "reason": ""}, "Say why the class changes."),
    ({"severity_class": "3", "reason": "   "}, "Say why the class changes."),
    ({"severity_class": "4", "reason": "worse"}, "severity_class: must be 1, 2 or 3"),
    ({"severity_class": "x", "reason": "worse"}, "severity_class: must be 1, 2 or 3"),
    ({"severity_class": "2", "reason": "y" * 1001}, "The reason is at most 1,000 characters."),
])
def test_a_bad_reclassify_gets_a_clear_message_and_changes_nothing(console, fire, session, data, message):
    incident_id = fire()
    ops = console(Role.OPS_ENGINEER)
    response = ops.post(f"/incidents/{incident_id}/reclassify", data)
    assert response.status_code == 422
    assert message in html(response)
    assert reload(session, incident_id).severity_class == 1
    assert [e.kind for e in events(session, incident_id)] == ["opened"]


def test_assigning_an_unknown_or_deactivated_person_is_refused_clearly(console, fire, make, session):
    incident_id = fire()
    make.user("gone@ops.example", active=False)
    ops = console(Role.OPS_ENGINEER)
    for email in ("nobody@ops.example", "gone@ops.example"):
        response = ops.post(f"/incidents/{incident_id}/assign", {"assignee": email})
        assert response.status_code == 422
        assert f"no active user &#39;{email}&#39;" in html(response)
    assert reload(session, incident_id).assignee_id is None
    response = ops.post(f"/incidents/{incident_id}/assign", {"assignee": "ops-engineer@ops.example"})
    assert response.status_code == 303
    assert reload(session, incident_id).assignee.email == "ops-engineer@ops.example"


def test_an_overlong_comment_is_refused_with_its_text_kept(console, fire, session):
    incident_id = fire()
    responder = console(Role.RESPONDER)
    response = responder.post(f"/incidents/{incident_id}/comment", {"text": "word " * 2001})
    assert response.status_code == 422
    assert "A comment is at most 10,000 characters." in html(response)
    assert "word word word" in html(response)  # what they typed is still in the box
    assert responder.post(f"/incidents/{incident_id}/comment", {"text": "   "}).status_code == 422
    assert [e.kind for e in events(session, incident_id)] == ["opened"]
    assert responder.post(f"/incidents/{incident_id}/comment", {"text": "Rolling back 4.2"}).status_code == 303
    assert "Rolling back 4.2" in html(responder.get(f"/incidents/{incident_id}"))


def test_a_viewer_sees_no_actions_and_cannot_post_them(console, fire, session):
    incident_id = fire()
    viewer = console(Role.VIEWER)
    text = html(viewer.get(f"/incidents/{incident_id}"))
    assert "Checkout is down" in text
    for action in ("acknowledge", "resolve", "comment", "assign", "reclassify", "escalate"):
        assert f"/incidents/{incident_id}/{action}" not in text
    for action, data in [("acknowledge", {}), ("resolve", {}), ("comment", {"text": "hi"}),
                         ("assign", {"assignee": "viewer@ops.example"}), ("escalate", {}), ("reopen", {}),
                         ("reclassify", {"severity_class": "3", "reason": "r"})]:
        assert viewer.post(f"/incidents/{incident_id}/{action}", data).status_code == 403, action
    incident = reload(session, incident_id)
    assert (incident.status, incident.severity_class, incident.assignee_id) == ("triggered", 1, None)
    assert [e.kind for e in events(session, incident_id)] == ["opened"]


def test_a_responder_may_respond_but_not_work_the_incident(console, fire, session):
    incident_id = fire()
    responder = console(Role.RESPONDER)
    text = html(responder.get(f"/incidents/{incident_id}"))
    assert f"/incidents/{incident_id}/acknowledge" in text
    assert f"/incidents/{incident_id}/reclassify" not in text and f"/incidents/{incident_id}/assign" not in text
    assert responder.post(f"/incidents/{incident_id}/escalate").status_code == 403
    assert responder.post(f"/incidents/{incident_id}/reclassify",
                          {"severity_class": "3", "reason": "r"}).status_code == 403
    assert reload(session, incident_id).severity_class == 1


def test_resolve_then_reopen_and_a_second_acknowledge_is_refused_clearly(console, fire, session):
    incident_id = fire()
    ops = console(Role.OPS_ENGINEER)
    assert ops.post(f"/incidents/{incident_id}/resolve").status_code == 303
    response = ops.post(f"/incidents/{incident_id}/acknowledge")
    assert response.status_code == 409 and "reopen it to acknowledge it" in html(response)
    assert f"/incidents/{incident_id}/reopen" in html(ops.get(f"/incidents/{incident_id}"))
    assert ops.post(f"/incidents/{incident_id}/reopen").status_code == 303
    assert reload(session, incident_id).status == "triggered"
    kinds = [(e.kind, e.source) for e in events(session, incident_id)]
    assert ("resolved", "console") in kinds and ("reopened", "console") in kinds


def test_a_missing_incident_is_a_404_page(console):
    ops = console(Role.OPS_ENGINEER)
    for url in ("/incidents/999999", "/incidents/99999999999999999999999", "/incidents/0"):
        response = ops.get(url)
        assert response.status_code == 404 and "Not found" in html(response), url
    response = ops.post("/incidents/999999/acknowledge")
    assert response.status_code == 404
    response = ops.post("/incidents/999999/comment", {"text": "x"})
    assert response.status_code == 404


def test_an_action_without_the_csrf_token_is_refused(console, fire, session):
    incident_id = fire()
    ops = console(Role.OPS_ENGINEER)
    response = ops.post(f"/incidents/{incident_id}/acknowledge", csrf=False)
    assert response.status_code == 400
    assert "Reload the page" in html(response)
    assert reload(session, incident_id).status == "triggered"


def test_the_timeline_shows_alerts_and_pages_with_their_delivery_state(console, fire, make, session, clock):
    incident_id = fire("Checkout is down")
    ana = make.user("ana@ops.example")
    ana.name = "Ana Silva"
    now = clock()
    session.add_all([
        Page(incident_id=incident_id, step=0, cycle=0, user_id=ana.id, recipient=f"user:{ana.id}",
             channel="sms", address="+15005550001", status="failed", attempts=3, created_at=now,
             error="Twilio 21614: not a mobile number"),
        Page(incident_id=incident_id, step=0, cycle=0, user_id=ana.id, recipient=f"user:{ana.id}",
             channel="slack", address="U0ANA", status="sent", attempts=1, created_at=now,
             sent_at=now + timedelta(seconds=2)),
    ])
    session.commit()
    text = html(console(Role.VIEWER).get(f"/incidents/{incident_id}"))
    assert "Page by SMS" in text and "to Ana Silva" in text
    assert 'class="badge delivery-failed">failed' in text and "Twilio 21614: not a mobile number" in text
    assert "3 attempts" in text
    assert 'class="badge delivery-sent">sent' in text
    assert '<li class="entry alert">' in text and "severity critical" in text  # the alert that opened it


def test_the_timeline_merges_events_alerts_and_pages_newest_first(console, fire, make, session, clock):
    incident_id = fire("Checkout is down")
    clock.advance(minutes=1)
    ana = make.user("ana@ops.example")
    session.add(Page(incident_id=incident_id, step=0, cycle=0, user_id=ana.id, recipient=f"user:{ana.id}",
                     channel="sms", address="+15005550001", status="sent", attempts=1, created_at=clock()))
    session.commit()
    clock.advance(minutes=1)
    responder = console(Role.RESPONDER)
    assert responder.post(f"/incidents/{incident_id}/comment", {"text": "Rolling back"}).status_code == 303
    text = html(responder.get(f"/incidents/{incident_id}"))
    timeline = text[text.index('<ol class="timeline">'):]
    order = [timeline.index(marker) for marker in
             ("Rolling back", "Page by SMS", '<li class="entry alert">', "Opened from an alert")]
    assert order == sorted(order)


def test_the_timeline_poll_answers_a_fragment_and_does_not_keep_the_session_alive(console, fire, clock):
    incident_id = fire()
    viewer = console(Role.VIEWER)
    poll = {"HX-Request": "true", "X-Vigil-Poll": "1"}
    clock.advance(minutes=50)
    fragment = viewer.get(f"/incidents/{incident_id}", headers=poll)
    assert fragment.status_code == 200
    assert '<ol class="timeline">' in html(fragment) and "<html" not in html(fragment)
    assert "HX-Request" in fragment.headers["Vary"]
    clock.advance(minutes=15)  # 65 minutes since the last real request: the idle limit is 60
    assert viewer.get(f"/incidents/{incident_id}").status_code == 302


def test_script_in_an_alert_title_is_shown_as_text(console, fire):
    incident_id = fire(SCRIPT)
    viewer = console(Role.VIEWER)
    for url in (f"/incidents/{incident_id}", "/incidents", "/"):
        text = html(viewer.get(url))
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, url
        assert SCRIPT not in text, url


# --- acknowledging stops escalation, whichever door -------------------------------------------

@pytest.fixture
def escalating(fire, make, session, clock):
    """An incident whose policy pages Ana by SMS now and Lee ten minutes later."""
    ana = make.user("ana@ops.example")
    lee = make.user("lee@ops.example", role=Role.ADMIN)
    ana.phone, lee.phone = "+15005550001", "+15005550004"
    policy = EscalationPolicy(name="checkout", repeat=0, defer_classes=[], steps=[
        {"targets": ["user:ana@ops.example"], "channels": ["sms"], "escalate_after": 600},
        {"targets": ["user:lee@ops.example"], "channels": ["sms"], "escalate_after": 600}])
    session.add(policy)
    session.flush()
    fire.service.service.escalation_policy_id = policy.id
    session.commit()
    incident_id = fire()
    escalations.advance_due(session, now=clock())  # what the engine's tick does
    session.commit()
    return incident_id


def page_statuses(session, incident_id):
    fresh(session)
    return sorted((p.address, p.status) for p in session.scalars(select(Page).where(Page.incident_id == incident_id)))


@pytest.mark.parametrize("door", ["console", "api"])
def test_acknowledging_stops_escalation_like_the_api_does(door, escalating, console, client, make, session, clock):
    incident_id = escalating
    assert page_statuses(session, incident_id) == [("+15005550001", "pending")]
    if door == "console":
        assert console(Role.RESPONDER).post(f"/incidents/{incident_id}/acknowledge").status_code == 303
    else:
        response = client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=bearer(make.api_key()))
        assert response.status_code == 200
    fresh(session)
    row = session.get(Escalation, incident_id)
    assert (row.state, row.next_at) == ("stopped", None)
    assert page_statuses(session, incident_id) == [("+15005550001", "cancelled")]  # not sent after all
    clock.advance(minutes=30)
    assert escalations.advance_due(session, now=clock()) == 0
    session.commit()
    assert page_statuses(session, incident_id) == [("+15005550001", "cancelled")]  # Lee is never paged
    [ack] = [e for e in events(session, incident_id) if e.kind == "acknowledged"]
    assert ack.source == door


def test_escalate_from_the_console_pages_the_next_step_now(escalating, console, session):
    incident_id = escalating
    assert console(Role.OPS_ENGINEER).post(f"/incidents/{incident_id}/escalate").status_code == 303
    assert ("+15005550004", "pending") in page_statuses(session, incident_id)
    kinds = [(e.kind, e.source) for e in events(session, incident_id)]
    assert ("escalate_requested", "console") in kinds


# --- the list -----------------------------------------------------------------------------------

def test_filters_narrow_the_list(console, fire, make, session):
    down = fire("Checkout is down")                     # class 1
    slow = fire("Checkout latency high", severity="warning")  # class 2
    other = fire("Nightly export failed", severity="info")    # class 3
    ops = console(Role.OPS_ENGINEER)
    assert ops.post(f"/incidents/{slow}/assign", {"assignee": "ops-engineer@ops.example"}).status_code == 303
    assert ops.post(f"/incidents/{other}/resolve").status_code == 303

    def shown(query):
        response = ops.get("/incidents" + query)
        assert response.status_code == 200, html(response)
        return {n for n in (down, slow, other) if f'href="/incidents/{n}"' in html(response)}

    assert shown("") == {down, slow, other}
    assert shown("?status=open") == {down, slow}
    assert shown("?status=resolved") == {other}
    assert shown("?status=any&severity_class=2") == {slow}
    assert shown("?assignee=ops-engineer@ops.example") == {slow}
    assert shown("?assignee=unassigned&status=open") == {down}
    assert shown("?text=latency") == {slow}
    assert shown("?customer=acme&service=checkout") == {down, slow, other}
    assert shown("?customer=nobody") == set()
    text = html(ops.get("/incidents?customer=nobody"))
    assert "No incident matches these filters." in text
    assert '<option value="acme"' in text and '<option value="checkout"' in text  # the dropdowns


@pytest.mark.parametrize("query, message", [
    ("?status=sleeping", "Status: must be one of"),
    ("?severity_class=4", "Class: must be 1, 2 or 3"),
    ("?text=" + "x" * 201, "Text: at most 200 characters."),
    ("?text=%25", "Text: needs a word of at least 3 letters or digits."),
    ("?cursor=garbage", "Cursor: not a cursor"),
    ("?customer=" + "c" * 65, "Customer: at most 64 characters."),
    ("?service=a%00b", "Service: contains a NUL character."),
])
def test_bad_filters_are_a_400_page_with_a_message(console, query, message):
    response = console(Role.VIEWER).get("/incidents" + query)
    assert response.status_code == 400
    assert message in html(response)
    assert 'role="search"' in html(response)  # the form is still there to fix it


def test_paging_keeps_the_filters(console, make, session, clock):
    customer = make.customer()
    other = make.customer("globex")
    for n in range(55):
        session.add(Incident(title=f"Report {n}", description="", status="triggered", severity_class=3,
                             category="defect", classification_rule="r", classification_reason="r",
                             origin="report", customer_id=customer.id, opened_at=clock(),
                             response_due_at=clock() + timedelta(days=3), updated_at=clock()))
    session.add(Incident(title="Globex report", description="", status="triggered", severity_class=3,
                         category="defect", classification_rule="r", classification_reason="r",
                         origin="report", customer_id=other.id, opened_at=clock(),
                         response_due_at=clock() + timedelta(days=3), updated_at=clock()))
    session.commit()
    viewer = console(Role.VIEWER)
    first = html(viewer.get("/incidents?customer=acme"))
    assert first.count('data-label="Incident"') == 50
    assert " Report 54</a>" in first and " Report 5</a>" in first and " Report 4</a>" not in first
    import re
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "customer=acme" in next_url and "cursor=" in next_url
    second = html(viewer.get(next_url))
    assert second.count('data-label="Incident"') == 5
    assert " Report 4</a>" in second and " Report 0</a>" in second and "Globex" not in second.split("<table")[1]
    assert 'rel="next"' not in second and "First page" in second


def test_sla_warning_and_breach_pages_are_named_on_the_timeline(console, fire, make, session, clock):
    incident_id = fire("Checkout is down")
    lee = make.user("lee@ops.example", Role.ADMIN)
    now = clock()
    session.add_all([
        Page(incident_id=incident_id, step=step, cycle=0, user_id=lee.id, recipient=f"user:{lee.id}",
             channel="sms", address="+15005550004", status="sent", attempts=1, created_at=now, sent_at=now)
        for step in (-10, -11, -20)])
    session.commit()
    text = html(console(Role.VIEWER).get(f"/incidents/{incident_id}"))
    assert "SLA warning 1" in text and "SLA warning 2" in text and "SLA breach notice" in text
    assert "step -" not in text
