"""Page deliveries. Retries live in the outbox row, not in Celery (DESIGN rule 1)."""
from celery import shared_task
from flask import current_app

from incidents import clock
from incidents.services.engine import sending
from incidents.web.session import db_session

PROVIDERS = "vigil.providers"


@shared_task(name="pages.deliver")
def deliver(page_id: int) -> str:
    return sending.deliver(db_session(), page_id=page_id, providers=current_app.extensions[PROVIDERS],
                           now=clock.now)


@shared_task(name="pages.refresh", bind=True, max_retries=8)
def refresh(self, incident_id: int) -> None:
    """Update the Slack pages of an incident; when Slack rate-limits, try again shortly (a few
    seconds at most, so a short countdown is safe here: DESIGN rule 1)."""
    wait = sending.refresh_slack(db_session(), incident_id=incident_id,
                                 providers=current_app.extensions[PROVIDERS])
    if wait is not None:
        raise self.retry(countdown=min(wait, 5.0))


@shared_task(name="pages.bundle")
def bundle(address: str) -> int:
    """Pages held back in an alert storm, sent to one number as one SMS."""
    return sending.deliver_bundle(db_session(), address=address,
                                  providers=current_app.extensions[PROVIDERS], now=clock.now)
