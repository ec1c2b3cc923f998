"""Triage: problems people reported that nobody has picked up yet, oldest first.

Ops engineers assign or reclassify from the row; those forms post to the incident's own action
routes (the same verbs, the same checks) and come back here.
"""
from __future__ import annotations

from flask import render_template

from incidents.domain.permissions import Permission
from incidents.services import incident_view
from incidents.web.console import bp
from incidents.web.console.guard import requires
from incidents.web.console.pages.incident_forms import MAX_REASON
from incidents.web.session import db_session

ROWS = 50  # a longer queue is a staffing problem; the rest are a link away


@bp.get("/triage", endpoint="triage")
@requires(Permission.VIEW)
def triage_page():
    session = db_session()
    queue = incident_view.triage_queue(session, limit=ROWS)
    users = incident_view.active_users(session) if queue.rows else []
    return render_template("console/triage.html", queue=queue, users=users, max_reason=MAX_REASON,
                           paused_ids=incident_view.paused_clocks(session, queue.rows))
