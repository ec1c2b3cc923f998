"""The regulator's deadline on a breach incident (GDPR, 72 hours): read it, and record that the
supervisory authority was notified. Thin views over services.playbook.regulator."""
from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, DateTime, Integer, String
from apiflask.validators import Length
from flask import request

from incidents import clock
from incidents.domain.enums import Source
from incidents.services import audit
from incidents.services.playbook import regulator
from incidents.web.api import INCIDENT
from incidents.web.auth import auth, current_actor
from incidents.web.session import db_session

bp = APIBlueprint("regulator", __name__, url_prefix="/api/v1", tag="Regulator's deadline")
ERRORS = {401: "missing or unknown API key", 403: "the key's scope does not allow this (a customer's key)",
          404: "no such incident",
          409: "the incident is not a security breach (it has no regulator's deadline)"}


class NotifiedIn(Schema):
    reference = String(required=True, validate=Length(1, regulator.MAX_REFERENCE),
                       metadata={"description": "the authority's case reference, or how it was notified"})


class RegulatorClockOut(Schema):
    incident_id = Integer(required=True)
    aware_at = DateTime(required=True, metadata={"description": "when Vigil knew of the breach; the 72 hours start here"})
    due_at = DateTime(required=True)
    warnings_sent = Integer(required=True)
    notified = Boolean(required=True)
    notified_at = DateTime(required=True, allow_none=True)
    notified_by = String(required=True, allow_none=True)
    reference = String(required=True, allow_none=True)
    overdue_at = DateTime(required=True, allow_none=True, metadata={"description": "set when the deadline passed unreported"})


@bp.get(INCIDENT + "/regulator-clock")
@bp.auth_required(auth, roles=["read"])
@bp.output(RegulatorClockOut)
@bp.doc(summary="The regulator's deadline of a breach incident", responses=ERRORS)
def show(incident_id: int):
    return _clock_json(regulator.get(db_session(), incident_id))


@bp.post(INCIDENT + "/regulator-notified")
@bp.auth_required(auth, roles=["admin"])
@bp.input(NotifiedIn, arg_name="body")
@bp.output(RegulatorClockOut)
@bp.doc(summary="Record that the supervisory authority was notified; the clock stops",
        responses={**ERRORS, 403: "needs an admin key",
                   409: "not a security breach, or the notification is already recorded",
                   422: "a missing or too long reference"})
def notified(incident_id: int, body: dict):
    session = db_session()
    row = regulator.notified(session, incident_id=incident_id, reference=body["reference"],
                             actor=current_actor(), source=Source.API, now=clock.now(),
                             where=audit.Where("api", request.remote_addr))
    session.commit()
    return _clock_json(row)


def _clock_json(row) -> dict:
    return {"incident_id": row.incident_id, "aware_at": row.aware_at, "due_at": row.due_at,
            "warnings_sent": row.warned, "notified": row.notified_at is not None,
            "notified_at": row.notified_at, "notified_by": row.notified_by, "reference": row.reference,
            "overdue_at": row.overdue_at}
