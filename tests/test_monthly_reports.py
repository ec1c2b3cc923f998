"""The monthly SLA report goes to each customer's contacts by itself, once, on the first working day."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from incidents.domain import report_schedule
from incidents.domain import working_hours as wh
from incidents.models import ReportDelivery, Setting
from incidents.providers.email import SmtpMailer
from incidents.services import incidents as incident_service
from incidents.services.actor import Actor
import workers.tasks.monthly_reports  # noqa: F401  (registers the shared task with every Celery app)
from tests.fakes.smtp import smtp_sink  # noqa: F401

LONDON = {"timezone": "Europe/London", "days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:30",
          "holidays": ["2026-12-25", "2026-12-26", "2027-01-01"]}


@pytest.fixture
def mailer(app, smtp_sink):
    before = app.extensions["vigil.mailer"]
    app.extensions["vigil.mailer"] = SmtpMailer(smtp_sink.settings())
    yield smtp_sink
    app.extensions["vigil.mailer"] = before


@pytest.fixture
def customer(make, session, clock):
    session.add(Setting(key="working_hours", value=LONDON))
    acme = make.customer("acme")
    acme.contacts = [{"name": "Dana", "email": "dana@acme.example"}, {"name": "Ops", "email": "ops@acme.example"}]
    session.commit()
    make.rules()
    clock.at = datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc)
    incident_service.report(session, title="Checkout is down", description="", customer_slug="acme",
                            service_name=None, category=None, actor=Actor("tests"), source="api")
    session.commit()
    return acme


def _run(app):
    # This app's own Celery task (another test's app may be Celery's default by now).
    return app.extensions["celery"].tasks["reports.monthly"]()


def test_first_working_day_skips_weekends_and_holidays():
    hours = wh.WorkingHours("Europe/London", frozenset(range(5)), datetime.min.time().replace(hour=9),
                            datetime.min.time().replace(hour=17), frozenset({date(2027, 1, 1)}))
    assert report_schedule.first_working_day(2027, 1, hours) == date(2027, 1, 4)   # Fri holiday, weekend
    assert report_schedule.first_working_day(2026, 12, hours) == date(2026, 12, 1)
    assert report_schedule.first_working_day(2027, 1, None) == date(2027, 1, 1)
    assert report_schedule.report_due(datetime(2027, 1, 2, 12, tzinfo=timezone.utc), hours) is None
    assert report_schedule.report_due(datetime(2027, 1, 4, 12, tzinfo=timezone.utc), hours) == date(2026, 12, 1)


def test_report_goes_out_once_with_the_pdf(app, customer, mailer, session, clock):
    clock.at = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.utc)
    assert _run(app) == 1
    assert _run(app) == 0  # the next hourly run finds it sent
    [received] = mailer.wait_for(1)
    assert sorted(received.rcpt_tos) == ["dana@acme.example", "ops@acme.example"]
    assert "November 2026" in received.message["Subject"]
    [pdf] = [part for part in received.message.iter_attachments()]
    assert pdf.get_filename() == "sla-acme-2026-11.pdf" and pdf.get_content().startswith(b"%PDF")
    row = session.scalars(select(ReportDelivery)).one()
    assert (row.status, row.month, row.attempts) == ("sent", date(2026, 11, 1), 1)


def test_nothing_goes_out_before_the_first_working_day(app, customer, mailer, session, clock):
    clock.at = datetime(2027, 1, 2, 10, 0, tzinfo=timezone.utc)  # Saturday after the New Year holiday
    assert _run(app) == 0
    assert session.scalars(select(ReportDelivery)).all() == []


def test_a_worker_that_died_mid_send_is_not_doubled_while_its_claim_is_fresh(app, customer, mailer, session, clock):
    clock.at = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.utc)
    with app.app_context():
        from incidents.services import monthly_reports
        from incidents.web.session import db_session
        s = db_session()
        [delivery_id] = monthly_reports.plan(s, now=clock())
        monthly_reports.claim(s, delivery_id=delivery_id, now=clock())
        s.commit()  # ...and the worker is killed before the e-mail went out
    clock.advance(minutes=5)
    assert _run(app) == 0  # a fresh claim: perhaps it is still being sent
    clock.advance(minutes=15)
    assert _run(app) == 1  # stale: sent now, once
    assert len(mailer.wait_for(1)) == 1


def test_the_console_shows_when_each_report_was_sent(app, customer, mailer, make, clock):
    from incidents.domain.enums import Role
    from tests.console.conftest import sign_in
    clock.at = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.utc)
    _run(app)
    admin = sign_in(app.test_client(), make.console_user("lee@ops.example", Role.ADMIN))
    page = admin.get("/customers/acme").get_data(as_text=True)
    assert "2026-11" in page and "2026-12-01 09:05 UTC" in page and "dana@acme.example" in page


def test_a_failed_send_is_retried_later(app, customer, session, clock, smtp_sink):
    from config import SmtpSettings
    before = app.extensions["vigil.mailer"]
    app.extensions["vigil.mailer"] = SmtpMailer(SmtpSettings(host="127.0.0.1", port=1, from_address="v@x.test",
                                                             timeout=2))
    clock.at = datetime(2026, 12, 1, 9, 5, tzinfo=timezone.utc)
    try:
        assert _run(app) == 0
    finally:
        app.extensions["vigil.mailer"] = SmtpMailer(smtp_sink.settings())
    session.expire_all()
    assert session.scalars(select(ReportDelivery)).one().status == "failed"
    clock.advance(hours=1)
    try:
        assert _run(app) == 1
    finally:
        app.extensions["vigil.mailer"] = before
    assert len(smtp_sink.wait_for(1)) == 1
