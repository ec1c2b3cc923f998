"""Now: what needs attention this minute — open incidents by class with their deadlines."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from incidents.domain.enums import Status
from incidents.domain.permissions import Permission
from incidents.models import Incident
from incidents.web.console import bp
from incidents.web.console.guard import requires
from incidents.web.session import db_session


@bp.get("/", endpoint="now")
@requires(Permission.VIEW)
def now_page():
    rows = db_session().scalars(
        select(Incident).options(joinedload(Incident.service), joinedload(Incident.customer),
                                 joinedload(Incident.assignee))
        .where(Incident.status != Status.RESOLVED).order_by(Incident.severity_class, Incident.response_due_at)
        .limit(200)).all()
    return render_template("console/now.html", incidents=rows)
