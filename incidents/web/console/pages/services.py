"""Services and integrations: who a service belongs to, its policy, the doors alerts come in by.

Admins create integrations, rotate keys and send a test alert. A new key is shown once, in the
response to the POST that made it: never in a redirect URL, the session or a flash message.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, url_for
from sqlalchemy import select
from flask_login import current_user
from werkzeug.routing import BuildError

from alerts.synthetic import send_test_alert
from incidents import clock
from incidents.domain.durations import format_duration
from incidents.domain.permissions import Permission
from incidents.models import Heartbeat, Integration
from incidents.services import escalation_policies, integrations, maintenance
from incidents.services.errors import Conflict, Invalid
from incidents.web.console import bp
from incidents.web.console.guard import actor, requires, where
from incidents.web.console.pages.config_forms import place_error
from incidents.web.console.pages.services_forms import TYPES, IntegrationForm, MaintenanceForm, usage
from incidents.web.session import db_session

SERVICE = "/services/<string(maxlength=100):name>"
INTEGRATION = SERVICE + "/integrations/<int(min=1, max=2147483647):integration_id>"


@bp.get("/services", endpoint="services")
@requires(Permission.VIEW)
def services_page():
    session = db_session()
    return render_template("console/services.html", services=integrations.list_services(session),
                           policy_names=_policy_names(session), default=escalation_policies.DEFAULT,
                           types=TYPES)


@bp.get(SERVICE, endpoint="service")
@requires(Permission.VIEW)
def service_page(name: str):
    return render_service(name)


@bp.post(SERVICE + "/integrations", endpoint="add_integration")
@requires(Permission.ADMIN)
def add_integration(name: str):
    session = db_session()
    integrations.get_service(session, name)  # 404 before the form is looked at
    form = IntegrationForm()
    if not form.validate_on_submit():
        return render_service(name, form=form, status=422)
    try:
        row, key = integrations.add(session, service_name=name, name=form.name.data, type=form.type.data,
                                    actor=actor(), where=where())
    except (Invalid, Conflict) as error:
        session.rollback()
        return render_service(name, form=form, error=place_error(form, error.message), status=422)
    session.commit()
    return _show_key(row, key, made=True)


@bp.post(INTEGRATION + "/rotate-key", endpoint="rotate_integration_key")
@requires(Permission.ADMIN)
def rotate_integration_key(name: str, integration_id: int):
    session = db_session()
    row = integrations.get_integration(session, service_name=name, integration_id=integration_id)
    row, key = integrations.rotate_key(session, service_name=name, name=row.name, actor=actor(), where=where())
    session.commit()
    return _show_key(row, key, made=False)


@bp.post(INTEGRATION + "/test", endpoint="test_integration")
@requires(Permission.ADMIN)
def test_integration(name: str, integration_id: int):
    session = db_session()
    try:
        outcome = send_test_alert(session, service_name=name, integration_id=integration_id, actor=actor(),
                                  where=where(), now=clock.now())
    except (Invalid, Conflict) as error:
        session.rollback()
        flash(error.message, "error")
        return redirect(url_for("console.service", name=name), code=303)
    session.commit()
    number = outcome.incident_id
    flash(f"Test alert sent: it opened incident #{number}. Resolve it when you have seen the page arrive."
          if outcome.created else
          f"Test alert sent: incident #{number} from an earlier test is still open, so the alert was "
          "counted on it and nobody was paged again. Resolve it to test again.", "success")
    return redirect(incident_url(number) or url_for("console.service", name=name), code=303)


# --- building the pages ------------------------------------------------------------------------

def render_service(name: str, *, form: IntegrationForm | None = None, error: str | None = None,
                   maintenance_form: MaintenanceForm | None = None, status: int = 200):
    session = db_session()
    service = integrations.get_service(session, name)
    if form is None and current_user.can(Permission.ADMIN):
        form = IntegrationForm(formdata=None)
    if maintenance_form is None and current_user.can(Permission.WORK):
        maintenance_form = MaintenanceForm(formdata=None)
    public = _public_url()
    rows = sorted(service.integrations, key=lambda i: (i.revoked_at is not None, i.name))
    page = render_template(
        "console/services_detail.html", service=service, integrations=rows, form=form, error=error,
        urls={t: integrations.intake_url(public, t) for t in TYPES}, types=TYPES,
        policy_names=_policy_names(session), default=escalation_policies.DEFAULT,
        windows=maintenance.listing(session, service_name=name, now=clock.now()),
        maintenance_form=maintenance_form, span=lambda seconds: format_duration(timedelta(seconds=seconds)),
        heartbeats=session.scalars(select(Heartbeat).where(Heartbeat.service_id == service.id)
                                   .order_by(Heartbeat.name)).all())
    return page, status


def _show_key(row: Integration, key: str, *, made: bool):
    url = integrations.intake_url(_public_url(), row.type)
    return render_template("console/services_key.html", integration=row, key=key, url=url, made=made,
                           types=TYPES, how=usage(row.type, url, key))


def _policy_names(session) -> dict[int, str]:
    return {p.id: p.name for p in escalation_policies.list_policies(session)}


def _public_url() -> str:
    return current_app.config["VIGIL"].public_url


def incident_url(incident_id: int | None) -> str | None:
    """The console's page for an incident, once the incidents pages provide one."""
    if incident_id is None:
        return None
    try:
        return url_for("console.incident", incident_id=incident_id)
    except BuildError:
        return None
