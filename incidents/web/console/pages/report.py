"""Report a problem: an incident opened by a person, classified by the same rules as alerts."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from incidents.domain.enums import Source
from incidents.domain.permissions import Permission
from incidents.services import incident_view
from incidents.services import incidents as incident_service
from incidents.services.errors import ServiceError
from incidents.web.console import bp, guard
from incidents.web.console.guard import requires
from incidents.web.console.pages.incident_forms import ReportForm, SelectChoice
from incidents.web.session import db_session


@bp.route("/incidents/new", methods=["GET", "POST"], endpoint="report")
@requires(Permission.WORK)
def report_page():
    session = db_session()
    form = ReportForm()
    form.customer.choices = [SelectChoice("", "Choose a customer")] + [
        SelectChoice(c.slug, c.name) for c in incident_view.customers(session)]
    form.service.choices = [SelectChoice("", "Not sure / none")] + [
        SelectChoice(s.name, f"{s.name} ({s.customer})") for s in incident_view.services(session)]
    error = None
    if form.validate_on_submit():
        try:
            incident = incident_service.report(
                session, title=form.title.data.strip(), description=(form.description.data or "").strip(),
                customer_slug=form.customer.data, service_name=form.service.data or None,
                actor=guard.actor(), source=Source.CONSOLE)
        except ServiceError as problem:
            session.rollback()
            error = problem.message[:1].upper() + problem.message[1:]
        else:
            session.commit()
            flash(f"Incident #{incident.id} opened as class {incident.severity_class} "
                  f"({incident.category}).", "success")
            return redirect(url_for("console.incident", incident_id=incident.id), 303)
    elif form.is_submitted():
        error = "Check the fields marked below."
    return render_template("console/report.html", form=form, error=error), 422 if error else 200
