"""The quarterly breach-playbook drill reminder (beat, daily). Thin: services.playbook.drills decides."""
from celery import shared_task
from flask import current_app

from incidents import clock
from incidents.services.playbook import drills
from incidents.web.session import db_session


@shared_task(name="playbook.drill_reminder")
def drill_reminder() -> int:
    """E-mail the admins when a drill is due this quarter and they were not told yet; 1 if sent."""
    from incidents.providers.email import Mail, MailError

    mailer = current_app.extensions.get("vigil.mailer")
    if mailer is None:
        return 0  # no SMTP_URL: nothing can go out; the next run looks again
    session = db_session()
    reminder = drills.claim(session, now=clock.now(), public_url=current_app.config["VIGIL"].public_url)
    session.commit()  # claimed before sending: no second worker sends it too
    if reminder is None:
        return 0
    try:
        message_id = mailer.send(Mail(to=reminder.to, subject=reminder.subject, text=reminder.text))
    except MailError as exc:
        drills.release(session, quarter=reminder.quarter, error=str(exc))
        session.commit()
        return 0
    drills.mark_sent(session, quarter=reminder.quarter, message_id=message_id, now=clock.now())
    session.commit()
    return 1
