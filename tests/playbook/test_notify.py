"""notify_customers: every contact of every customer (or of the affected one, or only the drill
recipients) gets the notice by e-mail into a real SMTP sink and by SMS into the fake Twilio; bad
addresses and refusals are recorded with the reason while the others are still sent, and a step
run again never sends anybody the same notice twice."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from incidents import clock as clock_module
from incidents.models import AuditEvent, Customer, Incident, PlaybookNotice, PlaybookRun
from incidents.providers.email import SmtpMailer
from incidents.providers.twilio_sms import TwilioSms
from incidents.services.engine.sending import Providers
from incidents.services.errors import Conflict
from incidents.services.playbook import notify
from incidents.services.playbook.notify import NotifyCustomers
from incidents.services.playbook.rotators.base import Context, RotationError
from tests.fakes.fixtures import fake_twilio  # noqa: F401
from tests.fakes.smtp import SmtpSink, smtp_sink  # noqa: F401
from tests.fakes.twilio_server import FROM_NUMBER
from tests.playbook.conftest import ADMIN, start

ADA, GIL, OPTED_OUT = "+15005550101", "+15005550102", "+15005550103"
NOTIFY_ONLY = {"rotate": []}


class WorkerDied(Exception):
    pass


# --- helpers the other rotator tests share ----------------------------------------------------------

def extensions(test_config, *, smtp_sink=None, fake_twilio=None) -> dict:
    """What the worker hands a step: the mailer, the SMS sender, SECRET_KEY and PUBLIC_URL."""
    sms = (TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token, FROM_NUMBER, api_url=fake_twilio.url)
           if fake_twilio else None)
    return {"providers": Providers(sms=sms, chat=None, public_url=test_config.public_url),
            "mailer": SmtpMailer(smtp_sink.settings()) if smtp_sink else None,
            "secret_key": test_config.secret_key, "public_url": test_config.public_url}


def step_context(session, run_id: int, kind: str, outside: dict, *, save=None) -> Context:
    """A Context as the runner builds it; `save` writes the checkpoint and commits, like the runner's."""
    run = session.get(PlaybookRun, run_id)
    step = next(s for s in run.steps if s.kind == kind)

    def commit(checkpoint: dict) -> None:
        step.checkpoint = checkpoint
        session.commit()

    return Context(session=session, run_id=run.id, step_id=step.id, mode=run.mode, config=dict(step.config),
                   playbook=dict(run.config), checkpoint=dict(step.checkpoint or {}), actor=run.started_by,
                   now=clock_module.now, extensions=outside, _save=save or commit)


def run_step(rotator, ctx: Context) -> str:
    """plan (kept in the checkpoint, reused when there), apply, verify: as the runner does."""
    plan = ctx.checkpoint.get("plan")
    if plan is None:
        plan = rotator.plan(ctx)
        ctx.save(plan=plan)
    rotator.apply(ctx, plan)
    return rotator.verify(ctx, plan)


# --- this module's world --------------------------------------------------------------------------

@pytest.fixture
def customers(session, breach, make):
    """Acme (the breached customer) with two contacts; Globex with a good contact and a bad one."""
    acme = session.scalars(select(Customer).where(Customer.slug == "acme")).one()
    acme.contacts = [{"name": "Ada Acme", "email": "Ada@Acme.example", "phone": ADA},
                     {"name": "Bob Acme", "email": "bob@acme.example", "phone": None}]
    globex = make.customer("globex")
    globex.contacts = [{"name": "Gil Globex", "email": "gil@globex.example", "phone": GIL},
                       {"name": "Typo", "email": "gil at globex", "phone": "0207 946 0000"}]
    session.commit()
    return acme, globex


@pytest.fixture
def outside(test_config, smtp_sink, fake_twilio):
    return extensions(test_config, smtp_sink=smtp_sink, fake_twilio=fake_twilio)


def states(session, run_id) -> dict[str, tuple[str, str | None]]:
    session.commit()  # end the test's read transaction: see what the step (or another session) committed
    session.expire_all()
    return {n.address: (n.state, n.reason) for n in notify.notices(session, run_id=run_id)}


def mailed_to(smtp_sink) -> list[str]:
    return sorted(address for r in smtp_sink.received for address in r.rcpt_tos)


def texted_to(fake_twilio) -> list[str]:
    return sorted(m.to for m in fake_twilio.messages)


def test_every_contact_of_every_customer_gets_email_and_sms_and_bad_addresses_fail_with_the_reason(
        session, configure, customers, breach, outside, smtp_sink, fake_twilio):
    configure(**NOTIFY_ONLY)
    run_id = start(session, breach, summary="Someone read the customer table", actions="rotating every key")

    summary = run_step(NotifyCustomers(), step_context(session, run_id, "notify_customers", outside))

    assert mailed_to(smtp_sink) == ["ada@acme.example", "bob@acme.example", "gil@globex.example"]
    assert texted_to(fake_twilio) == [ADA, GIL]  # the bad number never reached Twilio
    assert len(fake_twilio.requests) == 2
    assert summary == ("Notified 3 of 4 contacts of 2 customers: 3 e-mails and 2 texts sent; "
                       "2 failed (bad address: gil at globex; bad address: 0207 946 0000)")
    found = states(session, run_id)
    assert found["gil at globex"][0] == "failed" and found["gil at globex"][1].startswith("invalid address: ")
    assert found["0207 946 0000"] == ("failed", "invalid address: 0207 946 0000 is not an E.164 phone number "
                                                "like +15005550006")
    [ada] = [r for r in smtp_sink.received if r.rcpt_tos == ("ada@acme.example",)]
    assert ada.message["Subject"] == "Security incident notice"
    assert ada.message.get_content().startswith(
        "Dear Acme: a security incident affects our service. Someone read the customer table. "
        "We are rotating every key.")
    assert fake_twilio.bodies_to(GIL) == ["Dear Globex: a security incident affects our service. "
                                          "Someone read the customer table. We are rotating every key."]
    sent = session.scalars(select(PlaybookNotice).where(PlaybookNotice.state == "sent")).all()
    assert all(n.sent_at and n.claimed_at and n.provider_id for n in sent)


def test_affected_notifies_only_the_incidents_customer_naming_its_service(
        session, configure, customers, breach, outside, smtp_sink, fake_twilio, make):
    acme, _ = customers
    configure(notify_customers="affected", template="{customer}: {service} was breached ({incident}, {aware_at}).",
              **NOTIFY_ONLY)
    session.get(Incident, breach).service_id = make.service("checkout", customer=acme).service.id
    session.commit()
    run_id = start(session, breach)

    summary = run_step(NotifyCustomers(), step_context(session, run_id, "notify_customers", outside))

    assert mailed_to(smtp_sink) == ["ada@acme.example", "bob@acme.example"]
    assert texted_to(fake_twilio) == [ADA]
    assert fake_twilio.bodies_to(ADA) == [f"Acme: checkout was breached (#{breach}, 2026-11-23 08:30 UTC)."]
    assert summary == "Notified 2 of 2 contacts of 1 customer: 2 e-mails and 1 text sent"


def test_affected_without_a_customer_stops_the_step_with_a_plain_error(session, configure, customers, breach,
                                                                        outside):
    configure(notify_customers="affected", **NOTIFY_ONLY)
    session.get(Incident, breach).customer_id = None
    session.commit()
    run_id = start(session, breach)

    with pytest.raises(RotationError, match="the incident names no customer"):
        NotifyCustomers().plan(step_context(session, run_id, "notify_customers", outside))


def test_a_drill_notifies_only_the_drill_recipients(session, configure, customers, outside, smtp_sink,
                                                    fake_twilio, make):
    lee = make.user("lee@ops.example")
    lee.phone = "+15005550109"
    session.commit()
    configure(drill={"every": "quarter", "recipients": ["Lee@ops.example", "nobody@ops.example"]}, **NOTIFY_ONLY)
    run_id = start(session, mode="drill")

    summary = run_step(NotifyCustomers(), step_context(session, run_id, "notify_customers", outside))

    assert mailed_to(smtp_sink) == ["lee@ops.example", "nobody@ops.example"]
    assert texted_to(fake_twilio) == ["+15005550109"]
    [letter] = [r for r in smtp_sink.received if r.rcpt_tos == ("lee@ops.example",)]
    assert letter.message["Subject"] == "[Drill] Security incident notice"
    assert letter.message.get_content().startswith("This is a drill of our breach playbook: nothing has happened.")
    assert "Dear Lee:" in letter.message.get_content()
    assert summary == "Notified 2 of 2 drill recipients: 2 e-mails and 1 text sent"


def test_refusals_are_recorded_with_the_providers_words_and_the_others_still_go(
        session, configure, customers, breach, test_config, fake_twilio):
    acme, globex = customers
    acme.contacts = [{"name": "Ada", "email": "ada@acme.example", "phone": OPTED_OUT}]
    globex.contacts = [{"name": "Gil", "email": "gil@globex.example", "phone": GIL}]
    session.commit()
    fake_twilio.opted_out.add(OPTED_OUT)
    configure(**NOTIFY_ONLY)
    run_id = start(session, breach)

    with SmtpSink(credentials=("vigil", "the-right-password")) as sink:
        outside = extensions(test_config, smtp_sink=sink, fake_twilio=fake_twilio)
        outside["mailer"] = SmtpMailer(sink.settings(password="a-wrong-password"))
        summary = run_step(NotifyCustomers(), step_context(session, run_id, "notify_customers", outside))

    found = states(session, run_id)
    assert found[OPTED_OUT] == ("failed", "Twilio 400 (error 21610): Unable to create record: Attempt to send to "
                                          "unsubscribed recipient")
    assert found["ada@acme.example"][0] == "failed"
    assert found["ada@acme.example"][1].startswith(f"SMTP 127.0.0.1:{sink.port}: login: the server refused the "
                                                   "login as 'vigil' (535")
    assert found[GIL][0] == "sent" and texted_to(fake_twilio) == [GIL]
    assert summary.startswith("Notified 1 of 2 contacts of 2 customers: 0 e-mails and 1 text sent; 3 failed (")
    assert "a-wrong-password" not in summary + repr(found)


def test_a_temporary_refusal_is_tried_again_and_an_unknown_outcome_is_not(
        session, configure, customers, breach, outside, fake_twilio):
    acme, globex = customers
    acme.contacts, globex.contacts = [{"name": "Ada", "phone": ADA}], [{"name": "Gil", "phone": GIL}]
    session.commit()
    configure(**NOTIFY_ONLY)
    run_id = start(session, breach)
    fake_twilio.fail_next(503)  # Ada's first try: Twilio did not act, so it is tried again
    fake_twilio.fail_next(504)  # her second: a gateway gave up waiting, Twilio may have it: not tried again

    summary = run_step(NotifyCustomers(), step_context(session, run_id, "notify_customers", outside))

    found = states(session, run_id)
    assert found[ADA][0] == "uncertain" and found[ADA][1].endswith("; not resent so nobody gets it twice")
    assert found[GIL][0] == "sent"
    assert [r.form["To"] for r in fake_twilio.requests] == [ADA, ADA, GIL]
    assert summary.startswith("Notified 1 of 2 contacts of 2 customers: 0 e-mails and 1 text sent; 1 uncertain (")


def test_without_smtp_email_notices_fail_with_the_reason_and_texts_still_go(
        session, configure, customers, breach, test_config, fake_twilio):
    configure(**NOTIFY_ONLY)
    run_id = start(session, breach)
    outside = extensions(test_config, fake_twilio=fake_twilio)

    summary = run_step(NotifyCustomers(), step_context(session, run_id, "notify_customers", outside))

    assert states(session, run_id)["bob@acme.example"] == ("failed", "SMTP is not configured (SMTP_URL)")
    assert texted_to(fake_twilio) == [ADA, GIL]
    assert "0 e-mails and 2 texts sent; 5 failed (" in summary


def test_a_step_where_every_notice_failed_stops_with_the_reasons(session, configure, customers, breach,
                                                                 test_config):
    configure(**NOTIFY_ONLY)
    run_id = start(session, breach)
    ctx = step_context(session, run_id, "notify_customers", extensions(test_config))

    with pytest.raises(RotationError, match=r"^No notice could be sent: ada@acme.example: SMTP is not configured"):
        run_step(NotifyCustomers(), ctx)
    assert {state for state, _ in states(session, run_id).values()} == {"failed"}


def test_applying_again_sends_nothing_new(session, configure, customers, breach, outside, smtp_sink, fake_twilio):
    configure(**NOTIFY_ONLY)
    run_id = start(session, breach)
    first = run_step(NotifyCustomers(), step_context(session, run_id, "notify_customers", outside))

    second = run_step(NotifyCustomers(), step_context(session, run_id, "notify_customers", outside))

    assert second == first
    assert len(smtp_sink.received) == 3 and len(fake_twilio.messages) == 2
    assert len(notify.notices(session, run_id=run_id)) == 7


def test_a_worker_that_died_after_the_provider_took_a_notice_never_sends_it_again(
        session, configure, customers, breach, outside, smtp_sink, fake_twilio, app):
    configure(**NOTIFY_ONLY)
    run_id = start(session, breach)

    def dies_before_recording_the_second_sent_notice(checkpoint):
        sent = [n for n in session.dirty if isinstance(n, PlaybookNotice) and n.state == "sent"]
        if sent and sent[0].address == "bob@acme.example":
            session.rollback()
            raise WorkerDied()
        session.commit()

    ctx = step_context(session, run_id, "notify_customers", outside, save=dies_before_recording_the_second_sent_notice)
    with pytest.raises(WorkerDied):
        run_step(NotifyCustomers(), ctx)
    assert states(session, run_id)["bob@acme.example"][0] == "sending"

    resumed = app.extensions["vigil.db"].sessionmaker()  # another worker, another session
    try:
        summary = run_step(NotifyCustomers(), step_context(resumed, run_id, "notify_customers", outside))
    finally:
        resumed.close()

    assert mailed_to(smtp_sink) == ["ada@acme.example", "bob@acme.example", "gil@globex.example"]  # Bob once
    assert texted_to(fake_twilio) == [ADA, GIL]
    assert states(session, run_id)["bob@acme.example"] == (
        "uncertain", "the worker stopped while sending; not resent so nobody gets it twice")
    assert "; 1 uncertain (bob@acme.example: the worker stopped while sending" in summary


def test_an_admin_resends_an_uncertain_notice_and_it_is_audited(session, configure, customers, breach, outside,
                                                                smtp_sink, clock):
    configure(**NOTIFY_ONLY)
    run_id = start(session, breach)
    run_step(NotifyCustomers(), step_context(session, run_id, "notify_customers", outside))
    bob = session.scalars(select(PlaybookNotice).where(PlaybookNotice.address == "bob@acme.example")).one()
    bob.state, bob.reason = "uncertain", notify.LOST
    session.commit()

    notify.resend(session, notice_id=bob.id, actor=ADMIN, now=clock(), extensions=outside)

    assert mailed_to(smtp_sink).count("bob@acme.example") == 2  # the admin's explicit choice
    assert states(session, run_id)["bob@acme.example"] == ("sent", None)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "playbook.resend_notice")).one()
    assert (event.actor, event.target, event.details["was"]) == ("lee@ops.example", "email bob@acme.example",
                                                                 "uncertain")
    with pytest.raises(Conflict, match="This notice is sent; only a failed or uncertain notice can be resent"):
        notify.resend(session, notice_id=bob.id, actor=ADMIN, now=clock(), extensions=outside)


def test_the_runner_runs_the_step_and_the_report_has_the_time_to_notify_everyone(
        session, configure, customers, breach, outside, smtp_sink):
    from incidents.services.playbook import runner
    from tests.playbook.conftest import drive

    configure(**NOTIFY_ONLY)
    run_id = start(session, breach)

    drive(session, run_id, factory=lambda *_: runner.Surroundings(extensions=outside))

    run = session.get(PlaybookRun, run_id)
    session.refresh(run)
    assert run.state == "done"
    assert run.steps[0].summary.startswith("Notified 3 of 4 contacts of 2 customers")
    assert run.report["notify_all_seconds"] is not None
