"""Managing API keys over the API (admin scope)."""
from apiflask import APIBlueprint
from flask import request

from incidents.services import api_keys, audit
from incidents.web import schemas
from incidents.web.auth import auth, current_actor
from incidents.web.presenters import api_key_json
from incidents.web.session import db_session

bp = APIBlueprint("api_keys", __name__, url_prefix="/api/v1", tag="API keys")
ERRORS = {401: "missing or unknown API key", 403: "needs an admin key"}


@bp.get("/api-keys")
@bp.auth_required(auth, roles=["admin"])
@bp.output(schemas.ApiKeyList)
@bp.doc(summary="List API keys (never the keys themselves)", responses=ERRORS)
def list_():
    return {"items": [api_key_json(k) for k in api_keys.list_keys(db_session())]}


@bp.post("/api-keys")
@bp.auth_required(auth, roles=["admin"])
@bp.input(schemas.ApiKeyIn, arg_name="body")
@bp.output(schemas.ApiKeyCreated, status_code=201)
@bp.doc(summary="Create an API key; the key is in this response only",
        responses={**ERRORS, 422: "no such customer, or a customer's key with a scope other than read"})
def create(body: dict):
    session = db_session()
    row, key = api_keys.create(session, name=body["name"], scope=body["scope"], customer=body.get("customer"),
                               actor=current_actor(), where=_where())
    session.commit()
    return {**api_key_json(row), "key": key}


@bp.delete("/api-keys/<int(min=1, max=2147483647):key_id>")
@bp.auth_required(auth, roles=["admin"])
@bp.output({}, status_code=204)
@bp.doc(summary="Revoke an API key; it stops working at once", responses={**ERRORS, 404: "no such key"})
def revoke(key_id: int):
    session = db_session()
    api_keys.revoke(session, key_id=key_id, actor=current_actor(), where=_where())
    session.commit()
    return ""


def _where() -> audit.Where:
    return audit.Where("api", request.remote_addr)
