"""The breach playbook's runner as a task: one step per call, then it rings itself for the next.
Thin: incidents.services.playbook.runner does the work; here the step's surroundings are built
from the app (providers, mailer, secret key) and the process environment."""
from __future__ import annotations

import os

from celery import shared_task
from flask import current_app
from sqlalchemy.orm import Session

from incidents import clock
from incidents.services import sealed
from incidents.services.playbook import runner
from incidents.web.session import db_session

PROVIDERS = "vigil.providers"
MAILER = "vigil.mailer"


@shared_task(name="playbook.advance")
def advance(run_id: int) -> int | None:
    return runner.advance(db_session(), run_id=run_id, now=clock.now, context_factory=surroundings)


def surroundings(session: Session, step_config: dict, playbook: dict) -> runner.Surroundings:
    """Providers and mailer as the app built them; the secret store the step's config names."""
    from incidents.services.playbook.secrets import store_for  # boto3 only when a step needs it

    providers = current_app.extensions.get(PROVIDERS)
    secret_key = sealed.keyring(current_app.config["VIGIL"])  # VIGIL_ENCRYPTION_KEYS, else SECRET_KEY's
    environ = dict(os.environ)
    public_url = current_app.config["VIGIL"].public_url
    return runner.Surroundings(
        secrets=store_for(step_config, playbook, environ, secret_key, session),
        environ=environ,
        extensions={"providers": providers, "mailer": current_app.extensions.get(MAILER),
                    "secret_key": secret_key, "public_url": public_url})
