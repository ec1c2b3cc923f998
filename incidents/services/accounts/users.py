"""Console users: create, invite, accept, reset a password, change role, deactivate, reset 2FA,
require a new password."""
from __future__ import annotations

from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.domain.enums import Role
from incidents.models import LoginRecord, User, UserToken
from incidents.services import audit
from incidents.services.accounts import passwords, second_factor, tokens
from incidents.services.actor import Actor
from incidents.services.errors import Conflict, Forbidden, Invalid, NotFound


def get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist (it may have been removed).")
    return user


def by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def clean_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(f"E-mail: {exc}") from None


def clean_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise Invalid(f"Role: expected one of {', '.join(r.value for r in Role)}") from None


def create(session: Session, *, email: str, role: str, name: str | None, password: str | None,
           actor: Actor, where: audit.Where, now: datetime) -> User:
    """A user who can sign in with the given password (the command line's first admin)."""
    email, role = clean_email(email), clean_role(role)
    user = by_email(session, email)
    if user is not None and user.password_hash:
        raise Conflict(f"{email} already has an account.")
    if user is None:
        user = User(email=email, name=_name(name, email), role=role.value, active=True, created_at=now)
        session.add(user)
        session.flush()  # column defaults (session_epoch) are set: set_password bumps the epoch
    user.role, user.active = role.value, True
    if password is not None:
        passwords.set_password(user, password, now=now)
    session.flush()
    audit.record(session, actor=actor, where=where, action="user.create", target=email, now=now,
                 details={"role": role.value})
    return user


def invite(session: Session, *, email: str, role: str, name: str | None, actor: Actor,
           where: audit.Where, now: datetime) -> tuple[User, str]:
    """A user (new, or on-call staff without a password yet) and a one-time link to set a password."""
    email, role = clean_email(email), clean_role(role)
    user = by_email(session, email)
    if user is not None and user.password_hash and user.active:
        raise Conflict(f"{email} already has an account; use a password reset instead.")
    if user is None:
        user = User(email=email, name=_name(name, email), role=role.value, active=True, created_at=now)
        session.add(user)
        session.flush()
    user.role, user.active = role.value, True
    token = tokens.issue(session, user=user, purpose="invite", now=now)
    audit.record(session, actor=actor, where=where, action="user.invite", target=email, now=now,
                 details={"role": role.value})
    return user, token


def accept_invite(session: Session, *, token: str, password: str, now: datetime) -> User:
    user = tokens.redeem(session, token=token, purpose="invite", now=now)
    passwords.set_password(user, password, now=now)
    audit.record(session, actor=Actor.user(user.id, user.email), where=audit.Where("console"),
                 action="user.accept_invite", target=user.email, now=now)
    return user


def request_reset(session: Session, *, email: str, now: datetime) -> tuple[User, str] | None:
    """A reset link for an active account with a password; None otherwise (the caller says the same)."""
    user = by_email(session, email)
    if user is None or not user.active or not user.password_hash:
        return None
    return user, tokens.issue(session, user=user, purpose="reset", now=now)


def complete_reset(session: Session, *, token: str, password: str, now: datetime) -> User:
    user = tokens.redeem(session, token=token, purpose="reset", now=now)
    passwords.set_password(user, password, now=now)
    audit.record(session, actor=Actor.user(user.id, user.email), where=audit.Where("console"),
                 action="user.reset_password", target=user.email, now=now)
    return user


def set_role(session: Session, *, user_id: int, role: str, actor: Actor, where: audit.Where,
             now: datetime) -> User:
    user, role = get(session, user_id), clean_role(role)
    if user.role == Role.ADMIN and role != Role.ADMIN:
        _keep_an_admin(session, user)
    before, user.role = user.role, role.value
    audit.record(session, actor=actor, where=where, action="user.set_role", target=user.email, now=now,
                 details={"from": before, "to": role.value})
    return user


def deactivate(session: Session, *, user_id: int, actor: Actor, where: audit.Where, now: datetime) -> User:
    user = get(session, user_id)
    if user.id == actor.user_id:
        raise Forbidden("You cannot deactivate your own account.")
    if user.role == Role.ADMIN:
        _keep_an_admin(session, user)
    user.active = False
    user.session_epoch += 1
    audit.record(session, actor=actor, where=where, action="user.deactivate", target=user.email, now=now)
    return user


def reactivate(session: Session, *, user_id: int, actor: Actor, where: audit.Where, now: datetime) -> User:
    user = get(session, user_id)
    user.active = True
    audit.record(session, actor=actor, where=where, action="user.reactivate", target=user.email, now=now)
    return user


def reset_second_factor(session: Session, *, user_id: int, actor: Actor, where: audit.Where,
                        now: datetime) -> User:
    user = get(session, user_id)
    second_factor.reset(session, user)
    audit.record(session, actor=actor, where=where, action="user.reset_second_factor", target=user.email,
                 now=now)
    return user


def require_password_change(session: Session, *, user_id: int, actor: Actor, where: audit.Where,
                            now: datetime) -> User:
    """The user must choose a new password before doing anything else (checked on every request)."""
    user = get(session, user_id)
    if not user.password_hash:
        raise Invalid(f"{user.email} has no password yet; send them an invitation instead.")
    user.must_change_password = True
    audit.record(session, actor=actor, where=where, action="user.require_password_change",
                 target=user.email, now=now)
    return user


def last_sign_ins(session: Session) -> dict[int, datetime]:
    """user id -> time of the latest successful sign-in."""
    rows = session.execute(select(LoginRecord.user_id, func.max(LoginRecord.at))
                           .where(LoginRecord.success.is_(True), LoginRecord.user_id.is_not(None))
                           .group_by(LoginRecord.user_id))
    return {user_id: at for user_id, at in rows}


def pending_invitations(session: Session, *, now: datetime) -> dict[int, datetime]:
    """user id -> when their unused invitation link expires."""
    rows = session.execute(select(UserToken.user_id, func.max(UserToken.expires_at))
                           .where(UserToken.purpose == "invite", UserToken.used_at.is_(None),
                                  UserToken.expires_at > now)
                           .group_by(UserToken.user_id))
    return {user_id: at for user_id, at in rows}


def sign_out_everywhere(session: Session, *, user: User, where: audit.Where, now: datetime) -> None:
    user.session_epoch += 1
    audit.record(session, actor=Actor.user(user.id, user.email), where=where, action="user.sign_out_everywhere",
                 target=user.email, now=now)


def _keep_an_admin(session: Session, leaving: User) -> None:
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.active.is_(True), User.id != leaving.id))
    if not others:
        raise Conflict("Vigil needs at least one active admin; make someone else admin first.")


def _name(name: str | None, email: str) -> str:
    name = (name or "").strip()
    return name[:200] if name else email.split("@")[0].replace(".", " ").title()
