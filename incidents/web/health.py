"""Liveness and readiness probes."""
from apiflask import APIBlueprint
from sqlalchemy import text

from incidents.web.errors import error_body
from incidents.web.session import db_session

bp = APIBlueprint("health", __name__, tag="Health")


@bp.get("/healthz")
@bp.doc(summary="The process is alive")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
@bp.doc(summary="The database answers", responses={200: "ready", 503: "database unreachable"})
def readyz():
    try:
        db_session().execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means not ready
        return error_body(503, f"database unreachable ({exc.__class__.__name__})"), 503
    return {"status": "ready"}
