"""API keys as Bearer tokens; a key's scope is its set of roles (admin ⊃ write ⊃ read)."""
from __future__ import annotations

from datetime import timedelta

from apiflask import HTTPTokenAuth
from sqlalchemy import select

from incidents import clock
from incidents.domain.enums import Scope
from incidents.models import ApiKey
from incidents.services.actor import Actor
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


@auth.get_user_roles
def roles(key: ApiKey) -> list[str]:
    return Scope(key.scope).grants()


def current_actor() -> Actor:
    return Actor.api_key(auth.current_user.name)
