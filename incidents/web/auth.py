"""API keys as Bearer tokens; a key's scope is its set of roles (admin ⊃ write ⊃ read).

A key limited to one customer has the single role "customer" instead: only the endpoints that
name it (that customer's incidents and reports) let it in, and `customer_scope` narrows them."""
from __future__ import annotations

from datetime import timedelta

from apiflask import HTTPTokenAuth
from sqlalchemy import select

from incidents import clock
from incidents.domain.enums import Scope
from incidents.models import ApiKey, Customer, Incident
from incidents.services.actor import Actor
from incidents.services.errors import Forbidden, NotFound
from incidents.services.keys import hash_key
from incidents.web.session import db_session

auth = HTTPTokenAuth(scheme="Bearer", description="An API key from `vigil create-api-key`")
LAST_USED_GRANULARITY = timedelta(minutes=1)


@auth.verify_token
def verify_token(token: str) -> ApiKey | None:
    if not token:
        return None
    session = db_session()
    key = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(token),
                                               ApiKey.revoked_at.is_(None))).first()
    if key is not None:
        now = clock.now()
        # Recording use at most once a minute keeps reads from writing on every request.
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
            key.last_used_at = now
            session.commit()
    return key


CUSTOMER_ROLE = "customer"
READERS = ["read", CUSTOMER_ROLE]  # endpoints a customer's own key may read


@auth.get_user_roles
def roles(key: ApiKey) -> list[str]:
    if key.customer_id is not None:
        return [CUSTOMER_ROLE]
    return Scope(key.scope).grants()


def customer_scope() -> Customer | None:
    """The one customer the request's key is limited to, or None for an ops key."""
    key = auth.current_user
    return key.customer if key is not None and key.customer_id is not None else None


def check_customer(customer_slug: str | None) -> str | None:
    """The customer a scoped key may ask about: its own (also when none is named); another
    customer's is refused, saying which one the key is for."""
    own = customer_scope()
    if own is None:
        return customer_slug
    if customer_slug is not None and customer_slug != own.slug:
        raise Forbidden(f"this API key is limited to customer {own.slug!r}")
    return own.slug


def check_incident(incident: Incident) -> Incident:
    """Another customer's incident is, to a scoped key, one that does not exist."""
    own = customer_scope()
    if own is not None and incident.customer_id != own.id:
        raise NotFound(f"incident {incident.id} does not exist")
    return incident


def current_actor() -> Actor:
    return Actor.api_key(auth.current_user.name)
