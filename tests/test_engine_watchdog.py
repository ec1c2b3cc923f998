"""The engine watches itself: when a page has waited a minute for a worker, or the tick stops, the
admins get an SMS and a Slack message straight from the providers (not through the stuck outbox),
once per 15 minutes. Real twilio and slack_sdk clients talk to the loopback fakes; the clock moves."""
from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

import pytest

import config as settings
import workers.tasks.engine  # noqa: F401  (registers the tasks)
from incidents.app import create_app
from incidents.models import Incident, Page, User
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.fakes.twilio_server import FROM_NUMBER

ADMIN_PHONE, ENGINEER_PHONE = "+15005550001", "+15005550002"


@pytest.fixture
def watched(test_config, session, fake_twilio, fake_slack, clock):
    """A Vigil wired to the fakes whose queued tasks never run: the workers are stuck."""
    config = dataclasses.replace(
        test_config,
        twilio=settings.TwilioSettings(fake_twilio.account_sid, fake_twilio.auth_token, FROM_NUMBER,
                                       api_url=fake_twilio.url),
        slack=settings.SlackSettings(fake_slack.token, fake_slack.signing_secret, "C0OPS", fake_slack.url))
    app = create_app(config)
    celery = app.extensions["celery"]
    celery.send_task = lambda *args, **kwargs: None  # the broker takes it; no worker ever runs it
    now = clock()
    session.add_all([
        User(email="root@ops.example", name="Rita Admin", role="admin", phone=ADMIN_PHONE,
             slack_user_id="U0RITA", created_at=now),
        User(email="ana@ops.example", name="Ana Silva", role="ops_engineer", phone=ENGINEER_PHONE,
             slack_user_id="U0ANA", created_at=now),
    ])
    session.commit()
    yield app
    app.extensions["vigil.db"].engine.dispose()


def run(app, task: str):
    return app.extensions["celery"].tasks[task]()


def waiting_page(session, now) -> None:
    """A page due now that a worker should pick up."""
    incident = Incident(title="Checkout is down", description="", status="triggered", severity_class=1,
                        category="outage", classification_rule="test", classification_reason="test",
                        origin="alert", opened_at=now, response_due_at=now + timedelta(minutes=15),
                        updated_at=now)
    session.add(incident)
    session.flush()
    session.add(Page(incident_id=incident.id, step=0, cycle=0, recipient="user:2", channel="sms",
                     address=ENGINEER_PHONE, status="pending", attempts=0, created_at=now))
    session.commit()


def test_a_page_stuck_for_a_minute_pages_the_admins_directly_once(watched, session, clock, fake_twilio,
                                                                     fake_slack, caplog):
    run(watched, "engine.tick")
    waiting_page(session, clock())
    clock.advance(seconds=1)
    run(watched, "engine.tick")  # the page was due at this tick; no worker took it
    clock.advance(seconds=50)
    run(watched, "engine.tick")
    assert fake_twilio.messages == [] and fake_slack.posts == []  # 50 s late: not yet

    clock.advance(seconds=20)
    with caplog.at_level(logging.ERROR, logger="incidents.services.engine.watchdog"):
        run(watched, "engine.tick")

    [sms] = fake_twilio.messages
    assert sms.to == ADMIN_PHONE  # the admin, not the engineer whose page is stuck
    assert sms.body.startswith("Vigil ALERT: the engine is 1 min behind")
    assert "vigil doctor" in sms.body
    [slack] = fake_slack.posts
    assert slack.channel == "D0RITA" and slack.text == sms.body
    assert "engine alarm (lag): 71 s behind" in caplog.text

    clock.advance(minutes=10)
    run(watched, "engine.tick")
    assert len(fake_twilio.messages) == 1  # still behind, but paged within 15 minutes

    clock.advance(minutes=6)
    run(watched, "engine.tick")
    assert len(fake_twilio.messages) == 2
    assert fake_twilio.messages[1].body.startswith("Vigil ALERT: the engine is 17 min behind")


def test_work_that_fell_due_since_the_last_tick_is_not_lag(watched, session, clock, fake_twilio):
    """Work due since the tick before is the tick's ordinary business, however long the gap."""
    run(watched, "engine.tick")
    clock.advance(minutes=30)
    waiting_page(session, clock() - timedelta(minutes=20))
    run(watched, "engine.tick")
    assert fake_twilio.messages == []


def test_the_watchdog_pages_when_the_tick_stops(watched, clock, fake_twilio, fake_slack):
    run(watched, "engine.tick")
    assert run(watched, "engine.watchdog") == 0
    for _ in range(3):  # the watchdog runs every 20 s
        clock.advance(seconds=20)
        assert run(watched, "engine.watchdog") == 0

    clock.advance(seconds=10)  # no tick for 70 s: the tick is wedged or its queue unconsumed
    assert run(watched, "engine.watchdog") == 2
    [sms] = fake_twilio.messages
    assert sms.to == ADMIN_PHONE
    assert sms.body.startswith("Vigil ALERT: the engine tick has not run for 1 min")
    assert len(fake_slack.posts) == 1

    clock.advance(seconds=20)
    assert run(watched, "engine.watchdog") == 0  # once per 15 minutes
    assert len(fake_twilio.messages) == 1


def test_a_gap_in_the_watching_itself_is_not_taken_for_a_dead_tick(watched, clock, fake_twilio):
    """Beat down, the machine asleep or the clock moved: the tick could not run either, so it gets
    a minute from the watchdog's return before anyone is paged."""
    run(watched, "engine.tick")
    assert run(watched, "engine.watchdog") == 0
    clock.advance(minutes=31)
    assert run(watched, "engine.watchdog") == 0
    clock.advance(seconds=20)
    run(watched, "engine.tick")  # the tick is back within seconds
    assert run(watched, "engine.watchdog") == 0
    assert fake_twilio.messages == []
    clock.advance(seconds=61)  # but a tick that stays away is still found out
    assert run(watched, "engine.watchdog") == 0  # (a gap of 61 s in the watching: a fresh minute)
    clock.advance(seconds=20)
    assert run(watched, "engine.watchdog") == 0
    clock.advance(seconds=20)
    assert run(watched, "engine.watchdog") == 0
    clock.advance(seconds=25)
    assert run(watched, "engine.watchdog") == 2


def test_the_watchdog_pages_when_the_tick_never_ran(watched, clock, fake_twilio):
    assert run(watched, "engine.watchdog") == 0
    for _ in range(2):  # the watchdog runs every 20 s
        clock.advance(seconds=20)
        assert run(watched, "engine.watchdog") == 0
    clock.advance(seconds=21)
    assert run(watched, "engine.watchdog") == 2
    assert fake_twilio.messages[0].body.startswith("Vigil ALERT: the engine tick has not run")


def test_a_failing_provider_does_not_stop_the_other_page(watched, session, clock, fake_twilio, fake_slack):
    run(watched, "engine.tick")
    for _ in range(3):  # the watchdog runs every 20 s
        assert run(watched, "engine.watchdog") == 0
        clock.advance(seconds=20)
    clock.advance(seconds=1)
    fake_twilio.fail_next(500)
    assert run(watched, "engine.watchdog") == 1
    assert fake_twilio.messages == []
    assert len(fake_slack.posts) == 1
