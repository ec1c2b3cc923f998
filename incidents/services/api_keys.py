"""API keys: create (the key is returned once), list, revoke; changes go to the audit trail."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain.enums import Scope
from incidents.models import ApiKey
from incidents.services import audit
from incidents.services.actor import Actor
from incidents.services.errors import Invalid, NotFound
from incidents.services.keys import hash_key, hint, new_api_key

MAX_NAME = 100


def create(session: Session, *, name: str, scope: str, actor: Actor | None = None,
           where: audit.Where | None = None) -> tuple[ApiKey, str]:
    """A new key (returned once, stored hashed). With `actor` and `where` it is audited."""
    if scope not in {s.value for s in Scope}:
        raise Invalid(f"scope: expected one of {', '.join(s.value for s in Scope)}")
    name = name.strip()
    if not name:
        raise Invalid("name: required")
    if len(name) > MAX_NAME:
        raise Invalid(f"name: at most {MAX_NAME} characters")
    key = new_api_key()
    now = clock.now()
    row = ApiKey(name=name, scope=scope, key_hash=hash_key(key), key_hint=hint(key), created_at=now)
    session.add(row)
    session.flush()
    if actor is not None and where is not None:
        audit.record(session, actor=actor, where=where, action="api_key.create", target=name, now=now,
                     details={"api_key_id": row.id, "scope": scope, "hint": row.key_hint})
    return row, key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def get(session: Session, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} does not exist")
    return row


def revoke(session: Session, *, key_id: int, actor: Actor | None = None,
           where: audit.Where | None = None) -> ApiKey:
    """The key stops working at once; revoking a revoked key changes (and audits) nothing."""
    row = get(session, key_id)
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        if actor is not None and where is not None:
            audit.record(session, actor=actor, where=where, action="api_key.revoke", target=row.name,
                         now=row.revoked_at, details={"api_key_id": row.id, "scope": row.scope})
    return row
