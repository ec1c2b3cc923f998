"""Maintenance windows on a service's page: plan one, end one now. Ops engineers and admins.

The rules (what a window may be, the audit row, releasing held pages) are services.maintenance's;
these views parse the form and map its errors onto the fields.
"""
from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, url_for

from incidents import clock
from incidents.domain.permissions import Permission
from incidents.services import integrations, maintenance
from incidents.services.errors import Invalid
from incidents.web.console import bp
from incidents.web.console.guard import actor, requires, where
from incidents.web.console.pages.oncall_forms import local_instant
from incidents.web.console.pages.services import SERVICE, render_service
from incidents.web.console.pages.services_forms import MaintenanceForm
from incidents.web.session import db_session

WINDOW = SERVICE + "/maintenance-windows/<int(min=1, max=2147483647):window_id>"


@bp.post(SERVICE + "/maintenance-windows", endpoint="add_maintenance")
@requires(Permission.WORK)
def add_maintenance(name: str):
    session = db_session()
    integrations.get_service(session, name)  # 404 before the form is looked at
    form = MaintenanceForm()
    span = _span(form) if form.validate_on_submit() else None
    if span is None:
        return render_service(name, maintenance_form=form, status=422)
    try:
        maintenance.create(session, service_name=name, starts_at=span[0], ends_at=span[1], reason=form.reason.data,
                           actor=actor(), where=where(), now=clock.now())
    except Invalid as error:
        session.rollback()
        field, _, message = error.message.partition(": ")
        getattr(form, field, form.reason).errors = [message]
        return render_service(name, maintenance_form=form, status=422)
    session.commit()
    flash("Maintenance planned: alerts are still recorded and incidents opened, but nobody is paged "
          "until it ends.", "success")
    return redirect(url_for("console.service", name=name) + "#maintenance", code=303)


@bp.post(WINDOW + "/end", endpoint="end_maintenance")
@requires(Permission.WORK)
def end_maintenance(name: str, window_id: int):
    session = db_session()
    ended = maintenance.end(session, service_name=name, window_id=window_id, actor=actor(), where=where(),
                            now=clock.now())
    session.commit()
    flash("Maintenance ended: incidents still unacknowledged are paged now." if ended else
          "Planned maintenance cancelled.", "success")
    return redirect(url_for("console.service", name=name) + "#maintenance", code=303)


def _span(form: MaintenanceForm) -> tuple[datetime, datetime] | None:
    """The form's times (UTC) as instants; an empty start means now. None with field errors."""
    parsed = {}
    for field in (form.starts_at, form.ends_at):
        if field is form.starts_at and not (field.data or "").strip():
            parsed[field.name] = clock.now()
            continue
        try:
            parsed[field.name] = local_instant(field.data or "", "UTC")
        except ValueError as error:
            field.errors = [*field.errors, str(error)]
    return (parsed["starts_at"], parsed["ends_at"]) if len(parsed) == 2 else None
