"""One-time links for invitations and password resets: random, hashed at rest, expiring, spent once."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from incidents.models import User, UserToken
from incidents.services.errors import Invalid
from incidents.services.keys import hash_key

LIFETIME = {"invite": timedelta(days=7), "reset": timedelta(hours=1)}
EXPIRED = "This link has expired or has already been used. Ask for a new one."


def issue(session: Session, *, user: User, purpose: str, now: datetime) -> str:
    """A new link token; earlier unused links of the same purpose stop working."""
    session.execute(update(UserToken).where(UserToken.user_id == user.id, UserToken.purpose == purpose,
                                            UserToken.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    session.add(UserToken(user_id=user.id, purpose=purpose, token_hash=hash_key(token), created_at=now,
                          expires_at=now + LIFETIME[purpose]))
    session.flush()
    return token


def peek(session: Session, *, token: str, purpose: str, now: datetime) -> User:
    """The user a live link belongs to, without spending it (to show the form)."""
    row = _live(session, token, purpose, now)
    return session.get(User, row.user_id)


def redeem(session: Session, *, token: str, purpose: str, now: datetime) -> User:
    """Spend the link; a second use, an expired link or a link for another purpose is refused."""
    row = _live(session, token, purpose, now, for_update=True)
    row.used_at = now
    return session.get(User, row.user_id)


def _live(session: Session, token: str, purpose: str, now: datetime, *, for_update: bool = False) -> UserToken:
    if not token or len(token) > 100:
        raise Invalid(EXPIRED)
    query = select(UserToken).where(UserToken.token_hash == hash_key(token), UserToken.purpose == purpose)
    row = session.scalars(query.with_for_update() if for_update else query).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Invalid(EXPIRED)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Invalid(EXPIRED)
    return row
