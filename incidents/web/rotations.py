"""The rotations API: who is on call, their shifts, overrides, and iCalendar feeds of shifts."""
from __future__ import annotations

from apiflask import APIBlueprint, APIKeyQueryAuth, MultiAuth
from flask import Response, request

from incidents import clock
from incidents.domain.working_hours import DAY_NAMES
from incidents.models import Rotation, RotationOverride, User
from incidents.services import audit, oncall
from incidents.web import rotation_schemas as schemas
from incidents.web.auth import auth, current_actor, roles, verify_token
from incidents.web.session import db_session

bp = APIBlueprint("rotations", __name__, url_prefix="/api/v1", tag="Rotations")
ROTATION = "/rotations/<string(maxlength=100):name>"
ERRORS = {401: "missing or unknown API key", 403: "the key's scope does not allow this"}
NO_ROTATION = {**ERRORS, 404: "no such rotation"}

# Calendar apps subscribe to a URL and cannot send an Authorization header, so the two feeds also
# take the key in the query string. Such URLs end up in logs and calendar settings: use a key
# with read scope made for the purpose, and revoke it if the URL leaks.
calendar_key = APIKeyQueryAuth(
    name="CalendarKey", param_name="key",
    description="An API key with read scope as `?key=`; only the iCalendar feeds accept it.")
calendar_key.verify_token(verify_token)
calendar_key.get_user_roles(roles)
feed_auth = MultiAuth(auth, calendar_key)
FEED_DOC = (
    "An iCalendar (RFC 5545) feed, one event per shift in UTC, from four weeks ago to 26 weeks "
    "ahead. Calendar apps cannot send an `Authorization` header, so besides the Bearer header this "
    "feed accepts the API key as a query parameter: `.../calendar.ics?key=API_KEY` (read scope). "
    "The key is checked before anything else. A URL with a key in it is a secret: give each "
    "subscription its own read-scope key and revoke it if the URL leaks.")
FEED_RESPONSES = {**ERRORS, 200: {"description": "the feed", "content": {
    "text/calendar": {"schema": {"type": "string"}}}}}


@bp.get("/rotations")
@bp.auth_required(auth, roles=["read"])
@bp.output(schemas.RotationList)
@bp.doc(summary="List rotations with their handoff and members", responses=ERRORS)
def list_rotations():
    return {"items": [rotation_json(r) for r in oncall.list_rotations(db_session())]}


@bp.get(ROTATION + "/oncall")
@bp.auth_required(auth, roles=["read"])
@bp.input(schemas.OncallQuery, location="query", arg_name="query")
@bp.output(schemas.OncallOut)
@bp.doc(summary="Who is on call at an instant (default now), and until when",
        description="`at` is ISO 8601 with a UTC offset, e.g. `2026-11-23T09:00:00Z`.",
        responses={**NO_ROTATION, 422: "`at` is not an ISO 8601 date-time with a UTC offset"})
def oncall_at(name: str, query: dict):
    session = db_session()
    rotation = oncall.get(session, name)
    at = query.get("at") or clock.now()
    found = oncall.oncall_at(session, rotation, at)
    user, shift = found if found else (None, None)
    return {"rotation": rotation.name, "at": at, "user": person_json(user) if user else None,
            "since": shift.start if shift else None, "until": shift.end if shift else None,
            "override": bool(shift and shift.override)}


@bp.get(ROTATION + "/shifts")
@bp.auth_required(auth, roles=["read"])
@bp.input(schemas.RangeQuery, location="query", arg_name="query")
@bp.output(schemas.ShiftList)
@bp.doc(summary="The shifts between two instants, overrides included",
        description="`from` and `to` are ISO 8601 with a UTC offset; `to` must be after `from`, "
                    "at most 366 days later. Shifts are whole, not cut to the range.",
        responses={**NO_ROTATION, 422: "bad `from` or `to`, or a range over 366 days"})
def shifts(name: str, query: dict):
    session = db_session()
    rotation = oncall.get(session, name)
    found = oncall.shifts(rotation, query["from_"], query["to"])
    users = oncall.users_by_email(session, (s.user for s in found))
    return {"rotation": rotation.name, "items": [shift_json(s, users) for s in found]}


@bp.get(ROTATION + "/overrides")
@bp.auth_required(auth, roles=["read"])
@bp.output(schemas.OverrideList)
@bp.doc(summary="A rotation's overrides, by start", responses=NO_ROTATION)
def list_overrides(name: str):
    rotation = oncall.get(db_session(), name)
    return {"items": [override_json(o) for o in rotation.overrides]}


@bp.post(ROTATION + "/overrides")
@bp.auth_required(auth, roles=["write"])
@bp.input(schemas.OverrideIn, arg_name="body")
@bp.output(schemas.OverrideOut, status_code=201)
@bp.doc(summary="Someone covers the rotation from start to end",
        description="Overrides cut into the regular shifts; where overrides overlap, the one that "
                    "starts later wins.",
        responses={**NO_ROTATION, 422: "no such active user, or bad start or end"})
def add_override(name: str, body: dict):
    session = db_session()
    row = oncall.add_override(session, rotation_name=name, user_email=body["user"],
                              start=body["start"], end=body["end"],
                              actor_label=current_actor().label, now=clock.now(),
                              actor=current_actor(), where=audit.Where("api", request.remote_addr))
    session.commit()
    return override_json(row)


@bp.delete(ROTATION + "/overrides/<int(min=1, max=2147483647):override_id>")
@bp.auth_required(auth, roles=["write"])
@bp.output({}, status_code=204)
@bp.doc(summary="Remove an override", responses={**ERRORS, 404: "no such rotation or override"})
def remove_override(name: str, override_id: int):
    session = db_session()
    oncall.remove_override(session, rotation_name=name, override_id=override_id, actor=current_actor(),
                           where=audit.Where("api", request.remote_addr), now=clock.now())
    session.commit()
    return ""


@bp.get(ROTATION + "/calendar.ics")
@bp.auth_required(feed_auth, roles=["read"])
@bp.input(schemas.FeedQuery, location="query", arg_name="query")
@bp.doc(summary="The rotation's shifts as an iCalendar feed", description=FEED_DOC,
        responses={**FEED_RESPONSES, 404: "no such rotation"})
def rotation_calendar(name: str, query: dict):
    body = oncall.rotation_calendar(db_session(), rotation_name=name, now=clock.now())
    return calendar_response(body, name)


@bp.get("/users/<string(maxlength=254):email>/calendar.ics")
@bp.auth_required(feed_auth, roles=["read"])
@bp.input(schemas.FeedQuery, location="query", arg_name="query")
@bp.doc(summary="A user's shifts across all rotations as an iCalendar feed", description=FEED_DOC,
        responses={**FEED_RESPONSES, 404: "no such user"})
def user_calendar(email: str, query: dict):
    body = oncall.user_calendar(db_session(), email=email, now=clock.now())
    return calendar_response(body, email)


# --- presenting ---------------------------------------------------------------------------------

def person_json(user: User) -> dict:
    return {"email": user.email, "name": user.name}


def rotation_json(rotation: Rotation) -> dict:
    return {"name": rotation.name, "timezone": rotation.timezone,
            "handoff": {"day": DAY_NAMES[rotation.handoff_weekday], "time": rotation.handoff_time},
            "start": rotation.start_date.isoformat(),
            "members": [person_json(m.user) for m in rotation.members]}


def shift_json(shift, users: dict[str, User]) -> dict:
    user = users.get(shift.user)
    person = person_json(user) if user else {"email": shift.user, "name": shift.user}
    return {"user": person, "start": shift.start, "end": shift.end, "override": shift.override}


def override_json(row: RotationOverride) -> dict:
    return {"id": row.id, "user": person_json(row.user), "start": row.start, "end": row.end,
            "created_by": row.created_by, "created_at": row.created_at}


def calendar_response(body: bytes, name: str) -> Response:
    filename = "".join(c if c.isalnum() or c in "-_.@" else "-" for c in name) + ".ics"
    return Response(body, content_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})
