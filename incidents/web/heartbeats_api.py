"""Heartbeat pings: `POST /api/v1/heartbeats/{key}` from a monitored job (GET too, for curl in cron).

The key in the URL is the credential: it is checked before anything else, and the body, if any, is
never read (a job may send its output; we do not want it)."""
from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import DateTime, String

from incidents import clock
from incidents.services import heartbeats
from incidents.web.session import db_session

bp = APIBlueprint("heartbeats", __name__, url_prefix="/api/v1", tag="Heartbeats")
KEY = "/heartbeats/<string(minlength=1, maxlength=200):key>"
DOC = {404: "unknown heartbeat key (a rotated key stops working)"}


class PingOut(Schema):
    heartbeat = String(metadata={"description": "the heartbeat's name"})
    received_at = DateTime()
    next_due_at = DateTime(metadata={"description": "a ping later than this opens an incident"})


def _ping(key: str):
    session = db_session()
    row = heartbeats.ping(session, key=key, now=clock.now())
    session.commit()
    return {"heartbeat": row.name, "received_at": row.last_ping_at, "next_due_at": row.due_at}


@bp.post(KEY)
@bp.output(PingOut, status_code=202)
@bp.doc(summary="Ping a heartbeat: the job ran",
        description="No API key: the heartbeat's own key in the path authenticates. Any body is ignored. "
                    "A ping resolves the incident a missed heartbeat opened.", responses=DOC, security=[])
def ping(key: str):
    return _ping(key)


@bp.get(KEY)
@bp.output(PingOut, status_code=202)
@bp.doc(summary="Ping a heartbeat (GET, for `curl URL` in a cron line)", responses=DOC, security=[])
def ping_get(key: str):
    return _ping(key)
