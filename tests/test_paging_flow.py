"""An alert out of hours pages the week's on-call engineer by SMS and Slack, escalates when nobody
answers, and stops when someone replies by SMS or clicks Acknowledge. Real twilio and slack_sdk
clients talk to loopback fakes; Vigil serves the webhooks over real HTTP; the clock is moved."""
from __future__ import annotations

import dataclasses
import re
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

import config as settings
from incidents.app import create_app
from incidents.models import (EscalationPolicy, Incident, IncidentEvent, Page, Rotation, RotationMember,
                              Setting, User)
from tests.e2e.conftest import free_port
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.fakes.twilio_server import FROM_NUMBER
from tests.helpers import bearer

MONDAY_NIGHT = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)
ANA, LEE = "+15005550001", "+15005550004"


class Paging:
    """A Vigil wired to the fakes, whose after-commit tasks run when the test says so."""

    def __init__(self, app, base_url):
        self.app, self.base_url, self.queue = app, base_url, []
        self.lock = threading.Lock()
        celery = app.extensions["celery"]
        celery.loader.import_default_modules()  # the worker's task modules
        celery.send_task = self._record

    def _record(self, name, args=(), **_):
        with self.lock:
            self.queue.append((name, tuple(args)))

    def drain(self, limit: int = 200) -> list[str]:
        """Run queued tasks (and the tasks they queue) until none are left."""
        ran = []
        for _ in range(limit):
            with self.lock:
                if not self.queue:
                    return ran
                name, args = self.queue.pop(0)
            self.app.extensions["celery"].tasks[name](*args)
            ran.append(name)
        raise AssertionError(f"tasks kept coming: {ran[-10:]}")

    def tick(self) -> None:
        self.app.extensions["celery"].tasks["engine.tick"]()
        self.drain()


@pytest.fixture
def paging(app, test_config, session, fake_twilio, fake_slack, clock):
    clock.at = MONDAY_NIGHT
    port = free_port()
    config = dataclasses.replace(
        test_config, public_url=f"http://127.0.0.1:{port}",
        twilio=settings.TwilioSettings(fake_twilio.account_sid, fake_twilio.auth_token, FROM_NUMBER,
                                       api_url=fake_twilio.url),
        slack=settings.SlackSettings(fake_slack.token, fake_slack.signing_secret, "C0OPS", fake_slack.url))
    paging_app = create_app(config)
    server = make_server("127.0.0.1", port, paging_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _configure(session)
    yield Paging(paging_app, config.public_url)
    server.shutdown()
    paging_app.extensions["vigil.db"].engine.dispose()


def _configure(session) -> None:
    now = MONDAY_NIGHT
    ana = User(email="ana@ops.example", name="Ana Silva", role="ops_engineer", phone=ANA,
               slack_user_id="U0ANA", created_at=now)
    lee = User(email="lee@ops.example", name="Lee Mensah", role="admin", phone=LEE,
               slack_user_id="U0LEE", created_at=now)
    viv = User(email="viv@ops.example", name="Viv Amari", role="viewer", phone="+15005550009",
               slack_user_id="U0VIV", created_at=now)
    session.add_all([ana, lee, viv])
    rotation = Rotation(name="out-of-hours", timezone="Europe/London", handoff_weekday=0, handoff_time="09:00",
                        start_date=date(2026, 11, 2), created_at=now)
    rotation.members = [RotationMember(position=0, user=ana)]
    session.add(rotation)
    session.add(Setting(key="working_hours", value={
        "timezone": "Europe/London", "days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:30",
        "holidays": ["2026-12-25"]}))
    session.add(EscalationPolicy(name="default", repeat=0, defer_classes=[3], steps=[
        {"targets": ["rotation:triage"], "channels": ["slack", "sms"], "escalate_after": 900, "when": "working_hours"},
        {"targets": ["rotation:out-of-hours"], "channels": ["sms", "slack"], "escalate_after": 600,
         "when": "outside_working_hours"},
        {"targets": ["user:lee@ops.example"], "channels": ["sms", "slack"], "escalate_after": 900},
    ]))
    session.commit()


@pytest.fixture
def alert(paging, make):
    client = paging.app.test_client()
    make.rules()
    svc = make.service()
    svc.service.escalation_policy_id = make.session.scalar(select(EscalationPolicy.id))
    make.session.commit()

    def fire(summary="Checkout is down", dedup_key="checkout-down", severity="critical"):
        response = client.post("/api/v1/alerts", headers=bearer(svc.keys["generic"]),
                               json={"summary": summary, "severity": severity, "dedup_key": dedup_key})
        assert response.status_code == 202
        paging.drain()
        return response.json["alerts"][0]["incident_id"]
    return fire


def timeline(session, incident_id):
    session.commit()
    return [e.kind for e in session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                            .order_by(IncidentEvent.id))]


def code_in(body: str) -> str:
    return re.search(r"Reply (\w+)a ack", body).group(1)


def test_out_of_hours_alert_pages_on_call_by_sms_and_slack(paging, alert, fake_twilio, fake_slack, session):
    incident_id = alert()
    [sms] = fake_twilio.bodies_to(ANA)
    assert sms.startswith(f"Vigil #{incident_id} C1 acme: Checkout is down. Respond by Tue 00:00 UTC.")
    assert sms.endswith(f"Reply {code_in(sms)}a ack, {code_in(sms)}r resolve, {code_in(sms)}e escalate")
    [post] = fake_slack.posts
    assert post.channel == "D0ANA" and post.action_ids() == ["ack", "resolve", "escalate"]
    assert fake_twilio.bodies_to(LEE) == []
    assert timeline(session, incident_id) == ["opened", "paged", "page_sent", "page_sent"]
    statuses = session.scalars(select(Page.status).where(Page.incident_id == incident_id)).all()
    assert statuses == ["sent", "sent"]


def test_no_answer_escalates_then_sms_reply_stops_it(paging, alert, fake_twilio, fake_slack, session, clock):
    incident_id = alert()
    paging.tick()
    assert fake_twilio.bodies_to(LEE) == []  # not yet: ten minutes have not passed
    clock.advance(minutes=10)
    paging.tick()
    [to_lee] = fake_twilio.bodies_to(LEE)
    assert f"#{incident_id}" in to_lee

    response = fake_twilio.send_sms(paging.base_url + "/webhooks/twilio/sms", from_=LEE, body=f" {code_in(to_lee).upper()}A ")
    assert response.status_code == 200
    assert f"<Message>#{incident_id} acknowledged</Message>" in response.text
    paging.drain()
    clock.advance(hours=1)
    paging.tick()
    assert len(fake_twilio.messages) == 2  # nothing more after the acknowledgement
    session.commit()
    incident = session.get(Incident, incident_id)
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", "lee@ops.example")
    # The Slack pages now say who acknowledged, and offer no Acknowledge button.
    assert all("ack" not in m.action_ids() and m.history for m in fake_slack.posts)


def test_slack_acknowledge_button(paging, alert, fake_twilio, fake_slack, session):
    incident_id = alert()
    [post] = fake_slack.posts
    response = fake_slack.click(paging.base_url + "/webhooks/slack/actions", post, "ack", user_id="U0ANA")
    assert response.status_code == 200
    assert response.json()["text"] == f"#{incident_id} acknowledged by Ana Silva"
    again = fake_slack.click(paging.base_url + "/webhooks/slack/actions", post, "resolve", user_id="U0VIV")
    assert again.json()["text"].startswith("viv@ops.example has the viewer role")
    paging.drain()
    session.commit()
    assert session.get(Incident, incident_id).status == "acknowledged"
    assert post.action_ids() == ["resolve", "escalate"]


@pytest.mark.parametrize("body, expected", [
    ("a", "acknowledged"),
    ("zz9a", "no page with code zz9 for you"),
    ("hello", "a letter: 4ka ack"),
])
def test_sms_reply_grammar(paging, alert, fake_twilio, body, expected):
    alert()
    response = fake_twilio.send_sms(paging.base_url + "/webhooks/twilio/sms", from_=ANA, body=body)
    assert response.status_code == 200 and expected in response.text


def test_forged_and_unknown_senders_change_nothing(paging, alert, fake_twilio, session):
    incident_id = alert()
    url = paging.base_url + "/webhooks/twilio/sms"
    forged = fake_twilio.send_sms(url, from_=ANA, body="a", signature="bm90IGEgc2lnbmF0dXJl")
    assert forged.status_code == 403
    stranger = fake_twilio.send_sms(url, from_="+15005559999", body="a")
    assert "does not belong to a Vigil user" in stranger.text
    session.commit()
    assert session.get(Incident, incident_id).status == "triggered"


def test_permanent_sms_failure_falls_back_and_shows_on_the_timeline(paging, alert, fake_twilio, fake_slack, session):
    session.execute(User.__table__.update().where(User.email == "ana@ops.example").values(slack_user_id=None))
    session.commit()
    fake_twilio.opted_out.add(ANA)
    incident_id = alert()
    kinds = timeline(session, incident_id)
    assert "page_failed" in kinds
    failed = session.scalars(select(IncidentEvent.message).where(IncidentEvent.kind == "page_failed")).one()
    assert failed.startswith("SMS page to Ana Silva failed")


def test_temporary_failure_retries_with_backoff(paging, alert, fake_twilio, session, clock):
    fake_twilio.fail_next(500)
    incident_id = alert()
    session.commit()
    sms_page = session.scalars(select(Page).where(Page.incident_id == incident_id, Page.channel == "sms")).one()
    assert (sms_page.status, sms_page.attempts) == ("pending", 1)
    clock.advance(seconds=3)
    paging.tick()
    session.commit()
    session.refresh(sms_page)
    assert sms_page.status == "sent" and len(fake_twilio.bodies_to(ANA)) == 1


def test_class_3_at_night_waits_for_working_hours(paging, alert, fake_twilio, session, clock):
    incident_id = alert(summary="Footer link misaligned", dedup_key="footer", severity="info")
    assert timeline(session, incident_id) == ["opened", "deferred"]
    assert fake_twilio.messages == []
    clock.at = datetime(2026, 11, 24, 8, 59, tzinfo=timezone.utc)
    paging.tick()
    assert fake_twilio.messages == []
    clock.at = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)  # 09:00 in London
    paging.tick()
    # In working hours the triage step applies; with no triage rotation it is skipped at once.
    assert timeline(session, incident_id)[-4:] == ["step_skipped", "paged", "page_sent", "page_sent"]
    assert len(fake_twilio.bodies_to(LEE)) == 1


def test_alert_storm_bundles_sms_beyond_three_a_minute(paging, alert, fake_twilio, fake_slack, session, clock):
    ids = [alert(summary=f"Checkout down in shard {n}", dedup_key=f"shard-{n}") for n in range(8)]
    assert len(fake_twilio.bodies_to(ANA)) == 3  # three pages in the first minute
    assert len(fake_slack.posts) == 8  # Slack is not held back
    clock.advance(seconds=61)
    paging.tick()
    bodies = fake_twilio.bodies_to(ANA)
    assert len(bodies) == 4
    assert bodies[-1] == "Vigil: 5 more incidents for you. Reply aa to acknowledge all"
    response = fake_twilio.send_sms(paging.base_url + "/webhooks/twilio/sms", from_=ANA, body="AA")
    assert "8 acknowledged" in response.text
    session.commit()
    assert {session.get(Incident, i).status for i in ids} == {"acknowledged"}


def test_escalate_from_the_api_pages_the_next_step_now(paging, alert, fake_twilio, make, session):
    incident_id = alert()
    key = make.api_key("write")
    response = paging.app.test_client().post(f"/api/v1/incidents/{incident_id}/escalate", headers=bearer(key))
    assert response.status_code == 200
    paging.drain()
    assert len(fake_twilio.bodies_to(LEE)) == 1
    assert "escalate_requested" in timeline(session, incident_id)


def test_slack_default_target_posts_to_the_team_channel(paging, alert, fake_slack, session):
    policy = session.scalars(select(EscalationPolicy)).one()
    policy.steps = [{**policy.steps[1], "targets": ["rotation:out-of-hours", "slack:default"]}, policy.steps[2]]
    session.commit()
    alert()
    assert sorted(p.channel for p in fake_slack.posts) == ["C0OPS", "D0ANA"]
