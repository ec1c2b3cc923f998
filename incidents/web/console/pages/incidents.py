"""Incidents: every incident, newest first, narrowed by a filter form (GET, so a view is a link).

The filters are the API's (incidents.services.listing), read from the same query parameters; a
value the service refuses comes back as a message on the page with status 400.
"""
from __future__ import annotations

from flask import render_template, request, url_for

from incidents.domain.permissions import Permission
from incidents import clock
from incidents.services import incident_view, maintenance
from incidents.services.errors import Invalid
from incidents.services.listing import OPEN, UNASSIGNED, Filters, list_incidents
from incidents.web.console import bp
from incidents.web.console.guard import requires
from incidents.web.session import db_session

PAGE_SIZE = 50
ANY = "any"
STATUSES = [(ANY, "Any status"), (OPEN, "Open"), ("triggered", "Triggered"),
            ("acknowledged", "Acknowledged"), ("resolved", "Resolved")]
# The query parameters the form sends, with the longest value each may have.
PARAMETERS = {"status": 16, "severity_class": 8, "customer": 64, "service": 100, "assignee": 254,
              "text": 200, "cursor": 64}


@bp.get("/incidents", endpoint="incidents")
@requires(Permission.VIEW)
def incidents_page():
    session = db_session()
    asked = {name: request.args.get(name, "").strip() for name in PARAMETERS}
    rows, next_cursor, error = [], None, None
    try:
        filters = _filters(asked)
        rows, next_cursor = list_incidents(session, filters, cursor=asked["cursor"] or None, limit=PAGE_SIZE)
    except Invalid as problem:
        session.rollback()
        error = _sentence(problem.message)
    kept = {k: v for k, v in asked.items() if v and k != "cursor" and not (k == "status" and v == ANY)}
    body = render_template(
        "console/incidents.html", rows=rows, paused_ids=incident_view.paused_clocks(session, rows), asked=asked, error=error, filtered=bool(kept),
        statuses=STATUSES, customers=incident_view.customers(session),
        services=incident_view.services(session), users=incident_view.everyone(session),
        maintenance_ids=maintenance.services_in_maintenance(session, now=clock.now()),  # the badge
        next_url=url_for("console.incidents", **kept, cursor=next_cursor) if next_cursor else None,
        first_url=url_for("console.incidents", **kept) if asked["cursor"] else None)
    return body, 400 if error else 200


def _filters(asked: dict[str, str]) -> Filters:
    """The service's Filters from the form's values; what the form cannot send is refused here."""
    for name, longest in PARAMETERS.items():
        value = asked[name]
        if len(value) > longest and name != "text":  # the service words the limit on text itself
            raise Invalid(f"{name.replace('_', ' ')}: at most {longest} characters")
        if "\x00" in value:
            raise Invalid(f"{name.replace('_', ' ')}: contains a NUL character")
    severity_class = None
    if asked["severity_class"]:
        if asked["severity_class"] not in ("1", "2", "3"):
            raise Invalid("class: must be 1, 2 or 3")
        severity_class = int(asked["severity_class"])
    assignee = asked["assignee"]
    if assignee.lower() == "unassigned":
        assignee = UNASSIGNED
    return Filters(status=None if asked["status"] in ("", ANY) else asked["status"],
                   severity_class=severity_class, customer=asked["customer"] or None,
                   service=asked["service"] or None, assignee=assignee or None, text=asked["text"] or None)


def _sentence(message: str) -> str:
    """'text: at most 200 characters' -> 'Text: at most 200 characters.' (the API's words, as a sentence)."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", ")")) else message + "."
