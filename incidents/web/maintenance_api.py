"""Maintenance windows of a service over the API: list, create (write scope), end or cancel."""
from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import AwareDateTime, DateTime, Integer, List, Nested, String
from apiflask.validators import Length
from flask import request

from incidents import clock
from incidents.models import MaintenanceWindow
from incidents.services import audit, maintenance
from incidents.web.auth import auth, current_actor
from incidents.web.session import db_session

bp = APIBlueprint("maintenance", __name__, url_prefix="/api/v1", tag="Maintenance windows")
WINDOWS = "/services/<string(minlength=1, maxlength=100):service>/maintenance-windows"
ERRORS = {401: "missing or unknown API key", 403: "the key's scope does not allow this",
          404: "no such service (or window)"}


class WindowIn(Schema):
    starts_at = AwareDateTime(required=True, metadata={"description": "with a time zone, e.g. 2026-11-24T22:00:00Z"})
    ends_at = AwareDateTime(required=True, metadata={"description": f"after starts_at, at most "
                                                                    f"{maintenance.MAX_LENGTH.days} days later"})
    reason = String(required=True, validate=Length(1, maintenance.MAX_REASON))


class WindowOut(Schema):
    id = Integer()
    service = String()
    starts_at = DateTime()
    ends_at = DateTime()
    reason = String()
    created_by = String()
    created_at = DateTime()
    ended_by = String(allow_none=True)


class WindowList(Schema):
    items = List(Nested(WindowOut))


def window_json(row: MaintenanceWindow, service: str) -> dict:
    return {"id": row.id, "service": service, "starts_at": row.starts_at, "ends_at": row.ends_at,
            "reason": row.reason, "created_by": row.created_by, "created_at": row.created_at,
            "ended_by": row.ended_by}


def _where() -> audit.Where:
    return audit.Where("api", request.remote_addr)


@bp.get(WINDOWS)
@bp.auth_required(auth, roles=["read"])
@bp.output(WindowList)
@bp.doc(summary="The service's current and coming maintenance windows", responses=ERRORS)
def list_(service: str):
    rows = maintenance.listing(db_session(), service_name=service, now=clock.now())
    return {"items": [window_json(r, service) for r in rows]}


@bp.post(WINDOWS)
@bp.auth_required(auth, roles=["write"])
@bp.input(WindowIn, arg_name="body")
@bp.output(WindowOut, status_code=201)
@bp.doc(summary="Plan a maintenance window: alerts are recorded, pages held until it ends",
        responses={**ERRORS, 422: "ends before it starts, is over already, lasts too long, or no reason"})
def create(service: str, body: dict):
    session = db_session()
    row = maintenance.create(session, service_name=service, starts_at=body["starts_at"], ends_at=body["ends_at"],
                             reason=body["reason"], actor=current_actor(), where=_where(), now=clock.now())
    session.commit()
    return window_json(row, service)


@bp.delete(WINDOWS + "/<int(min=1, max=2147483647):window_id>")
@bp.auth_required(auth, roles=["write"])
@bp.output({}, status_code=204)
@bp.doc(summary="End a window now (one not yet begun is cancelled); held pages go out",
        responses=ERRORS)
def end(service: str, window_id: int):
    session = db_session()
    maintenance.end(session, service_name=service, window_id=window_id, actor=current_actor(), where=_where(),
                    now=clock.now())
    session.commit()
    return ""
