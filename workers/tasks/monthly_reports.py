"""The monthly SLA report run: hourly, it sends whatever is due and not yet sent. Thin: services do the work."""
from celery import shared_task
from flask import current_app

from incidents import clock
from incidents.services import monthly_reports
from incidents.web.session import db_session


@shared_task(name="reports.monthly")
def send_monthly() -> int:
    from incidents.providers.email import Mail, MailError
    from incidents.web.reports_pdf import report_pdf

    mailer = current_app.extensions.get("vigil.mailer")
    if mailer is None:
        return 0  # no SMTP_URL: nothing can go out; the rows wait until it is configured
    session = db_session()
    sent = 0
    for delivery_id in monthly_reports.plan(session, now=clock.now()):
        session.commit()
        now = clock.now()
        row = monthly_reports.claim(session, delivery_id=delivery_id, now=now)
        if row is None:
            session.rollback()
            continue
        parts = monthly_reports.letter(session, row, now=now,
                                       render_pdf=lambda report, at: report_pdf(report, generated_at=at))
        session.commit()  # claimed before sending: a crash now leaves a `sending` row, not a silent resend
        try:
            message_id = mailer.send(Mail(to=parts["to"], subject=parts["subject"], text=parts["text"],
                                          attachments=(parts["attachment"],)))
        except MailError as exc:
            monthly_reports.mark_failed(session, delivery_id=delivery_id, error=str(exc))
        else:
            monthly_reports.mark_sent(session, delivery_id=delivery_id, message_id=message_id, now=clock.now())
            sent += 1
        session.commit()
    session.commit()
    return sent
