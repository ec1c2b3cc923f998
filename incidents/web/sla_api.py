"""Pausing and resuming an incident's SLA response clock: thin views over services.sla_clock."""
from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, DateTime, Integer, Nested, String
from apiflask.validators import Length

from incidents import clock
from incidents.domain.enums import Source
from incidents.services import sla_clock
from incidents.web import schemas
from incidents.web.api import ERRORS, INCIDENT
from incidents.web.auth import auth, current_actor
from incidents.web.presenters import incident_json
from incidents.web.session import db_session

bp = APIBlueprint("sla", __name__, url_prefix="/api/v1", tag="SLA clocks")
DOC = {**ERRORS, 404: "no such incident",
       409: "the clock is not in a state that allows this (already paused, not paused, responded to, "
            "resolved or breached)",
       422: "a missing or too long reason, or a pause that would overlap another"}


class PauseIn(Schema):
    reason = String(required=True, validate=Length(1, sla_clock.MAX_REASON),
                    metadata={"description": "why the clock stops, e.g. waiting on the customer"})


class ClockOut(Schema):
    response_due_at = DateTime(required=True, allow_none=True)
    paused = Boolean(required=True)
    paused_since = DateTime(required=True, allow_none=True)
    responded_at = DateTime(required=True, allow_none=True)
    breached_at = DateTime(required=True, allow_none=True)
    warnings_sent = Integer(required=True)


class SlaClockOut(Schema):
    incident = Nested(schemas.IncidentOut, required=True)
    clock = Nested(ClockOut, required=True)
    reason = String(required=True, allow_none=True)


@bp.post(INCIDENT + "/pause")
@bp.auth_required(auth, roles=["write"])
@bp.input(PauseIn, arg_name="body")
@bp.output(SlaClockOut)
@bp.doc(summary="Pause the SLA response clock, with a reason",
        description="The deadline moves by the time the clock would have counted while paused.",
        responses=DOC)
def pause(incident_id: int, body: dict):
    session = db_session()
    incident = sla_clock.pause(session, incident_id=incident_id, reason=body["reason"],
                               actor=current_actor(), source=Source.API, now=clock.now())
    session.commit()
    return _answer(session, incident)


@bp.post(INCIDENT + "/resume")
@bp.auth_required(auth, roles=["write"])
@bp.output(SlaClockOut)
@bp.doc(summary="Resume a paused SLA response clock", responses=DOC)
def resume(incident_id: int):
    session = db_session()
    incident = sla_clock.resume(session, incident_id=incident_id, actor=current_actor(),
                                source=Source.API, now=clock.now())
    session.commit()
    return _answer(session, incident)


def _answer(session, incident) -> dict:
    current = sla_clock.open_pause(session, incident.id)
    return {"incident": incident_json(incident),
            "clock": {"response_due_at": incident.response_due_at, "paused": current is not None,
                      "paused_since": current.started_at if current else None,
                      "responded_at": incident.responded_at, "breached_at": incident.breached_at,
                      "warnings_sent": incident.sla_warned},
            "reason": current.reason if current else None}
