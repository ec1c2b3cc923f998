"""Who a step's targets are right now: a rotation's on-call person, a named user, a Slack channel."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain.escalation import Recipient, Step
from incidents.models import Rotation, User
from incidents.services import oncall


def resolve(session: Session, step: Step, now: datetime) -> list[Recipient]:
    found: dict[str, Recipient] = {}
    for target in step.targets:
        kind, _, name = target.partition(":")
        recipient = _RESOLVERS[kind](session, name, now)
        if recipient is not None:
            found.setdefault(recipient.key, recipient)  # the same person twice is paged once
    return list(found.values())


def _rotation(session: Session, name: str, now: datetime) -> Recipient | None:
    rotation = session.scalars(select(Rotation).where(Rotation.name == name)).first()
    if rotation is None:
        return None
    current = oncall.oncall_at(session, rotation, now)
    if current is None or not current[0].active:
        return None
    return _person(current[0])


def _user(session: Session, email: str, now: datetime) -> Recipient | None:
    user = session.scalars(select(User).where(User.email == email)).first()
    return _person(user) if user is not None and user.active else None


def _slack(session: Session, channel: str, now: datetime) -> Recipient:
    return Recipient(f"slack:{channel}", None, channel)


def _person(user: User) -> Recipient:
    return Recipient(f"user:{user.id}", user.id, user.name)


_RESOLVERS = {"rotation": _rotation, "user": _user, "slack": _slack}
