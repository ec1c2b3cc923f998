"""API keys: create (the key is returned once), list, revoke; changes go to the audit trail."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain.enums import Scope
from incidents.models import ApiKey, Customer
from incidents.services import audit
from incidents.services.actor import Actor
from incidents.services.errors import Invalid, NotFound
from incidents.services.keys import hash_key, hint, new_api_key

MAX_NAME = 100


def create(session: Session, *, name: str, scope: str, customer: str | None = None,
           actor: Actor | None = None, where: audit.Where | None = None) -> tuple[ApiKey, str]:
    """A new key (returned once, stored hashed). With `actor` and `where` it is audited.

    A key for one `customer` (a slug) reads that customer's incidents and reports and nothing
    else, so it can be handed to the customer's own dashboards; such keys are read-only."""
    if scope not in {s.value for s in Scope}:
        raise Invalid(f"scope: expected one of {', '.join(s.value for s in Scope)}")
    owner = _customer(session, customer, scope)
    name = name.strip()
    if not name:
        raise Invalid("name: required")
    if len(name) > MAX_NAME:
        raise Invalid(f"name: at most {MAX_NAME} characters")
    key = new_api_key()
    now = clock.now()
    row = ApiKey(name=name, scope=scope, key_hash=hash_key(key), key_hint=hint(key), created_at=now,
                 customer=owner)
    session.add(row)
    session.flush()
    if actor is not None and where is not None:
        audit.record(session, actor=actor, where=where, action="api_key.create", target=name, now=now,
                     details={"api_key_id": row.id, "scope": scope, "hint": row.key_hint,
                              "customer": customer})
    return row, key


def _customer(session: Session, slug: str | None, scope: str) -> Customer | None:
    if slug is None:
        return None
    row = session.scalars(select(Customer).where(Customer.slug == slug)).first()
    if row is None:
        raise Invalid(f"customer: there is no customer {slug!r}")
    if scope != Scope.READ.value:
        raise Invalid("scope: a key for one customer can only read (scope read)")
    return row


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
