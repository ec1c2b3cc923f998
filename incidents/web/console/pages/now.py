"""Now: what needs attention this minute — open incidents by class with their deadlines, who is
on call, and what nobody has picked up. The incident boxes poll themselves every 10 seconds."""
from __future__ import annotations

from flask import render_template, request

from incidents import clock
from incidents.domain.permissions import Permission
from incidents.services import incident_view
from incidents.web.console import bp
from incidents.web.console.guard import requires
from incidents.web.session import db_session

PER_CLASS = 25  # rows per class box; the rest are one "see all" link away
UNASSIGNED_ROWS = 20


@bp.get("/", endpoint="now")
@requires(Permission.VIEW)
def now_page():
    session = db_session()
    boxes = {"by_class": incident_view.open_by_class(session, per_class=PER_CLASS),
             "unassigned": incident_view.unassigned(session, limit=UNASSIGNED_ROWS)}
    shown = [i for box in [*boxes["by_class"].values(), boxes["unassigned"]] for i in box.rows]
    boxes["paused_ids"] = incident_view.paused_clocks(session, shown)
    if request.headers.get("HX-Request"):  # the 10-second poll: the incident boxes only
        return render_template("console/_now_incidents.html", **boxes), 200, {"Vary": "HX-Request"}
    board = incident_view.oncall_board(session, at=clock.now())
    return render_template("console/now.html", board=board, **boxes), 200, {"Vary": "HX-Request"}
