"""API keys: create (the key is returned once), list, revoke."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain.enums import Scope
from incidents.models import ApiKey
from incidents.services.errors import Invalid, NotFound
from incidents.services.keys import hash_key, hint, new_api_key


def create(session: Session, *, name: str, scope: str) -> tuple[ApiKey, str]:
    if scope not in {s.value for s in Scope}:
        raise Invalid(f"scope: expected one of {', '.join(s.value for s in Scope)}")
    if not name.strip():
        raise Invalid("name: required")
    key = new_api_key()
    row = ApiKey(name=name.strip(), scope=scope, key_hash=hash_key(key), key_hint=hint(key),
                 created_at=clock.now())
    session.add(row)
    session.flush()
    return row, key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke(session: Session, *, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} does not exist")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
    return row
