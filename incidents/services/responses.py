"""Answers from on-call staff (Slack buttons, SMS replies): who they are, and the verb they mean.

Every answer ends in the same service verbs the console and API use (DESIGN rule 2).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain.enums import Role, Source
from incidents.models import Incident, User
from incidents.services import lifecycle
from incidents.services.actor import Actor
from incidents.services.errors import Forbidden, NotFound

# Who may act on incidents from Slack or SMS: everyone but read-only viewers.
RESPONDER_ROLES = {Role.ADMIN, Role.OPS_ENGINEER, Role.RESPONDER}
VERBS = {
    "ack": lifecycle.acknowledge,
    "resolve": lifecycle.resolve,
    "escalate": lifecycle.escalate,
}
PAST = {"ack": "acknowledged", "resolve": "resolved", "escalate": "escalated"}


def responder_by_slack_id(session: Session, slack_user_id: str) -> User:
    user = session.scalars(select(User).where(User.slack_user_id == slack_user_id)).first()
    return _allowed(user, "This Slack account is not linked to a Vigil user")


def responder_by_phone(session: Session, phone: str) -> User:
    user = session.scalars(select(User).where(User.phone == phone)).first()
    return _allowed(user, "This number does not belong to a Vigil user")


def act(session: Session, *, verb: str, incident_id: int, user: User, source: Source) -> Incident:
    """Run one verb for one person; the caller commits."""
    return VERBS[verb](session, incident_id=incident_id, actor=Actor.user(user.id, user.email), source=source)


def _allowed(user: User | None, unknown: str) -> User:
    if user is None or not user.active:
        raise NotFound(unknown)
    if user.role not in RESPONDER_ROLES:
        raise Forbidden(f"{user.email} has the {user.role} role, which cannot change incidents")
    return user
