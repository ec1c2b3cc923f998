"""The quarterly drill reminder: the admins get one e-mail in a quarter with no drill of the breach
playbook, with a link to the console; nothing when a drill ran this quarter or no playbook is
configured; a failed send is retried, and two workers never both send it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from config import SmtpSettings
from incidents.domain import playbook as rules
from incidents.domain.enums import Role
from incidents.models import Setting
from incidents.providers.email import SmtpMailer
from incidents.services.playbook import drills
import workers.tasks.drills  # noqa: F401  (registers the shared task with every Celery app)
from tests.fakes.smtp import smtp_sink  # noqa: F401
from tests.playbook.conftest import start

NOVEMBER = datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)


@pytest.fixture
def mailer(app, smtp_sink):  # noqa: F811
    before = app.extensions["vigil.mailer"]
    app.extensions["vigil.mailer"] = SmtpMailer(smtp_sink.settings())
    yield smtp_sink
    app.extensions["vigil.mailer"] = before


@pytest.fixture
def admins(make, clock):
    make.user("lee@ops.example", Role.ADMIN)
    make.user("kim@ops.example", Role.ADMIN)
    make.user("old@ops.example", Role.ADMIN, active=False)
    make.user("ana@ops.example", Role.OPS_ENGINEER)


def _remind(app) -> int:
    return app.extensions["celery"].tasks["playbook.drill_reminder"]()


def test_the_admins_are_reminded_once_a_quarter(app, admins, configure, mailer, session, clock):
    configure()
    assert _remind(app) == 1
    [received] = mailer.wait_for(1)
    assert sorted(received.rcpt_tos) == ["kim@ops.example", "lee@ops.example"]
    assert received.message["Subject"] == "Breach playbook drill due (2026-Q4)"
    body = received.message.get_content()
    assert "A breach playbook drill is due this quarter (2026-Q4)" in body
    assert "http://vigil.test/playbook" in body

    clock.advance(days=1)
    assert _remind(app) == 0
    clock.at = datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)
    assert _remind(app) == 0
    assert len(mailer.received) == 1

    clock.at = datetime(2027, 1, 1, 0, 30, tzinfo=timezone.utc)  # a new quarter, still no drill
    assert _remind(app) == 1
    assert mailer.wait_for(2)[1].message["Subject"] == "Breach playbook drill due (2027-Q1)"


def test_nothing_when_a_drill_ran_this_quarter(app, admins, configure, mailer, session, clock):
    configure()
    clock.at = datetime(2026, 10, 2, 10, 0, tzinfo=timezone.utc)
    start(session, mode="drill")
    clock.at = NOVEMBER
    assert _remind(app) == 0
    assert mailer.received == []
    assert drills.last_drill(session).isoformat() == "2026-10-02"

    clock.at = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)  # last quarter's drill does not count
    assert _remind(app) == 1
    assert len(mailer.wait_for(1)) == 1


def test_nothing_without_a_breach_playbook(app, admins, mailer, session, clock):
    assert _remind(app) == 0
    assert mailer.received == []
    assert session.get(Setting, drills.REMINDER_SETTING) is None


def test_a_failed_send_is_retried_at_the_next_run(app, admins, configure, session, clock, smtp_sink):  # noqa: F811
    configure()
    before = app.extensions["vigil.mailer"]
    app.extensions["vigil.mailer"] = SmtpMailer(SmtpSettings(host="127.0.0.1", port=1, from_address="v@x.test",
                                                             timeout=1.0))
    try:
        assert _remind(app) == 0
        session.commit()
        assert "SMTP 127.0.0.1:1" in session.get(Setting, drills.REMINDER_SETTING).value["error"]
        clock.advance(hours=1)
        app.extensions["vigil.mailer"] = SmtpMailer(smtp_sink.settings())
        assert _remind(app) == 1
    finally:
        app.extensions["vigil.mailer"] = before
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_claimed_quarter_is_not_claimed_twice(app, admins, configure, session, clock, _test_sessionmaker):
    """Two workers at once: the first claims the quarter (committed before it sends), the second
    finds it claimed. A claim left by a worker that died mid-send is taken over once stale."""
    configure()
    first, second = _test_sessionmaker(), _test_sessionmaker()
    try:
        assert drills.claim(first, now=NOVEMBER, public_url="http://vigil.test") is not None
        first.commit()
        assert drills.claim(second, now=NOVEMBER + timedelta(minutes=5), public_url="http://vigil.test") is None
        second.commit()
        later = NOVEMBER + drills.STALE + timedelta(minutes=1)
        assert drills.claim(second, now=later, public_url="http://vigil.test") is not None
        second.commit()
    finally:
        first.close()
        second.close()
    session.commit()
    rows = session.scalars(select(Setting).where(Setting.key == drills.REMINDER_SETTING)).all()
    assert len(rows) == 1 and rows[0].value["quarter"] == "2026-Q4"


def test_quarter_labels():
    assert rules.quarter_label(datetime(2026, 12, 31).date()) == "2026-Q4"
    assert rules.quarter_label(datetime(2027, 1, 1).date()) == "2027-Q1"
    assert rules.quarter_label(datetime(2027, 6, 30).date()) == "2027-Q2"
