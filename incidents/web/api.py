"""The incidents JSON API: thin views that parse, call one service, and answer."""
from __future__ import annotations

from apiflask import APIBlueprint
from sqlalchemy import select

from incidents.domain.enums import Source
from incidents.models import IncidentEvent
from incidents.services import incidents as incident_service
from incidents.services import lifecycle
from incidents.services.listing import Filters, list_alerts, list_incidents
from incidents.web import schemas
from incidents.web.auth import READERS, auth, check_customer, check_incident, current_actor
from incidents.web.presenters import alert_json, event_json, incident_json
from incidents.web.session import db_session

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="Incidents")
# Ids are PostgreSQL integers: a larger one names no row, so it is a 404 (not a database error).
INCIDENT = "/incidents/<int(min=1, max=2147483647):incident_id>"
ERRORS = {401: "missing or unknown API key", 403: "the key's scope does not allow this"}


@bp.get("/incidents")
@bp.auth_required(auth, roles=READERS)
@bp.input(schemas.IncidentQuery, location="query", arg_name="query")
@bp.output(schemas.IncidentPage)
@bp.doc(summary="List incidents, newest first",
        description="Filters combine with AND; a customer, service or assignee nobody has gives "
                    "an empty list.",
        responses={**ERRORS, 422: "a filter, cursor or limit that is not allowed"})
def list_(query: dict):
    filters = Filters(status=query.get("status"), severity_class=query.get("severity_class"),
                      customer=check_customer(query.get("customer")), service=query.get("service"),
                      assignee=query.get("assignee"), text=query.get("text"))
    rows, next_cursor = list_incidents(db_session(), filters, cursor=query.get("cursor"),
                                       limit=query["limit"])
    return {"items": [incident_json(i) for i in rows], "next": next_cursor}


@bp.post("/incidents")
@bp.auth_required(auth, roles=["write"])
@bp.input(schemas.ReportIn, arg_name="report")
@bp.output(schemas.IncidentOut, status_code=201)
@bp.doc(summary="Report a problem", responses=ERRORS)
def report(report: dict):
    session = db_session()
    incident = incident_service.report(
        session, title=report["title"], description=report["description"],
        customer_slug=report["customer"], service_name=report.get("service"),
        category=report.get("category"), actor=current_actor(), source=Source.API)
    session.commit()
    return incident_json(incident)


@bp.get(INCIDENT)
@bp.auth_required(auth, roles=READERS)
@bp.output(schemas.IncidentOut)
@bp.doc(summary="One incident", responses={**ERRORS, 404: "no such incident"})
def show(incident_id: int):
    return incident_json(check_incident(incident_service.get(db_session(), incident_id)))


@bp.get(INCIDENT + "/timeline")
@bp.auth_required(auth, roles=READERS)
@bp.output(schemas.TimelineOut)
@bp.doc(summary="An incident's timeline, oldest first", responses={**ERRORS, 404: "no such incident"})
def timeline(incident_id: int):
    session = db_session()
    check_incident(incident_service.get(session, incident_id))
    events = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                             .order_by(IncidentEvent.at, IncidentEvent.id))
    return {"items": [event_json(e) for e in events]}


@bp.get(INCIDENT + "/alerts")
@bp.auth_required(auth, roles=READERS)
@bp.input(schemas.PageQuery, location="query", arg_name="query")
@bp.output(schemas.AlertPage)
@bp.doc(summary="The alerts an incident received, newest first, with their raw payloads",
        responses={**ERRORS, 404: "no such incident"})
def alerts(incident_id: int, query: dict):
    session = db_session()
    check_incident(incident_service.get(session, incident_id))
    rows, next_cursor = list_alerts(session, incident_id=incident_id, cursor=query.get("cursor"),
                                    limit=query["limit"])
    return {"items": [alert_json(a) for a in rows], "next": next_cursor}


def _act(incident_id: int, verb, **kwargs) -> dict:
    session = db_session()
    incident = verb(session, incident_id=incident_id, actor=current_actor(), source=Source.API, **kwargs)
    session.commit()
    return incident_json(incident)


ACTION_DOC = {**ERRORS, 404: "no such incident", 409: "not allowed in the incident's state"}


@bp.post(INCIDENT + "/acknowledge")
@bp.auth_required(auth, roles=["write"])
@bp.output(schemas.IncidentOut)
@bp.doc(summary="Acknowledge: someone is on it", responses=ACTION_DOC)
def acknowledge(incident_id: int):
    return _act(incident_id, lifecycle.acknowledge)


@bp.post(INCIDENT + "/resolve")
@bp.auth_required(auth, roles=["write"])
@bp.input(schemas.ResolveIn, arg_name="body")
@bp.output(schemas.IncidentOut)
@bp.doc(summary="Resolve", responses=ACTION_DOC)
def resolve(incident_id: int, body: dict):
    return _act(incident_id, lifecycle.resolve, note=body.get("note"))


@bp.post(INCIDENT + "/escalate")
@bp.auth_required(auth, roles=["write"])
@bp.output(schemas.IncidentOut)
@bp.doc(summary="Escalate: page the next step of the escalation policy now", responses=ACTION_DOC)
def escalate(incident_id: int):
    return _act(incident_id, lifecycle.escalate)


@bp.post(INCIDENT + "/reopen")
@bp.auth_required(auth, roles=["write"])
@bp.output(schemas.IncidentOut)
@bp.doc(summary="Reopen a resolved incident", responses=ACTION_DOC)
def reopen(incident_id: int):
    return _act(incident_id, lifecycle.reopen)


@bp.post(INCIDENT + "/assign")
@bp.auth_required(auth, roles=["write"])
@bp.input(schemas.AssignIn, arg_name="body")
@bp.output(schemas.IncidentOut)
@bp.doc(summary="Assign to a user", responses={**ACTION_DOC, 422: "no such active user"})
def assign(incident_id: int, body: dict):
    return _act(incident_id, lifecycle.assign, assignee_email=body["assignee"])


@bp.post(INCIDENT + "/comment")
@bp.auth_required(auth, roles=["write"])
@bp.input(schemas.CommentIn, arg_name="body")
@bp.output(schemas.IncidentOut)
@bp.doc(summary="Add a comment to the timeline", responses=ACTION_DOC)
def comment(incident_id: int, body: dict):
    return _act(incident_id, lifecycle.comment, text=body["text"])


@bp.post(INCIDENT + "/reclassify")
@bp.auth_required(auth, roles=["write"])
@bp.input(schemas.ReclassifyIn, arg_name="body")
@bp.output(schemas.IncidentOut)
@bp.doc(summary="Change the severity class, with a reason; the deadline follows",
        description="The new deadline is the opening time plus the new class's response time.",
        responses=ACTION_DOC)
def reclassify(incident_id: int, body: dict):
    return _act(incident_id, lifecycle.reclassify, severity_class=body["severity_class"],
                reason=body["reason"], category=body.get("category"))
