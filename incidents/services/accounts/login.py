"""Signing in: every attempt recorded, failures slowed down and then locked, per e-mail and per IP.

The answer never tells whether an account exists: an unknown e-mail, a wrong password and a
deactivated account get the same words, cost the same time, and count towards the same limits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.domain import lockout
from incidents.models import LoginRecord, User
from incidents.services.accounts import passwords

WRONG = "Wrong e-mail or password."
POLICY = lockout.LockoutPolicy()
# An office behind one address mistypes more than one person does: slow down later and less.
IP_POLICY = lockout.LockoutPolicy(free_attempts=15, max_delay=timedelta(seconds=10))


class Outcome(StrEnum):
    SUCCESS = "success"
    BAD_PASSWORD = "bad_password"
    UNKNOWN_USER = "unknown_user"
    INACTIVE = "inactive"
    BAD_SECOND_FACTOR = "bad_second_factor"
    THROTTLED = "throttled"


COUNTED = (Outcome.BAD_PASSWORD, Outcome.UNKNOWN_USER, Outcome.INACTIVE, Outcome.BAD_SECOND_FACTOR)


@dataclass(frozen=True)
class Attempt:
    email: str
    ip: str
    user_agent: str
    now: datetime


@dataclass(frozen=True)
class Result:
    user: User | None
    error: str | None = None


def normal_email(email: str) -> str:
    return email.strip().lower()[:254]


def password_step(session: Session, attempt: Attempt, password: str) -> Result:
    """The first factor. Returns the user only if the password is right and the account may sign in."""
    refused = throttled(session, attempt)
    if refused:
        return Result(None, refused)
    user = session.scalars(select(User).where(func.lower(User.email) == attempt.email)).first()
    if not passwords.verify(user, password):
        record(session, attempt, Outcome.UNKNOWN_USER if user is None else Outcome.BAD_PASSWORD, user)
        return Result(None, WRONG)
    if not user.active:
        record(session, attempt, Outcome.INACTIVE, user)
        return Result(None, WRONG)
    return Result(user)


def throttled(session: Session, attempt: Attempt) -> str | None:
    """The refusal to show if this e-mail or address must wait; the wait is recorded too."""
    wait = max(account_wait(session, attempt), ip_wait(session, attempt))
    if wait <= timedelta(0):
        return None
    record(session, attempt, Outcome.THROTTLED, None)
    return f"Too many failed sign-ins. Try again in {lockout.describe(wait)}."


def record(session: Session, attempt: Attempt, outcome: Outcome, user: User | None) -> None:
    session.add(LoginRecord(at=attempt.now, email=attempt.email, user_id=user.id if user else None,
                            ip=attempt.ip[:45], user_agent=attempt.user_agent[:300], outcome=outcome.value,
                            success=outcome is Outcome.SUCCESS))
    session.flush()


def account_wait(session: Session, attempt: Attempt) -> timedelta:
    since = attempt.now - POLICY.window - POLICY.lock_for
    last_success = session.scalar(select(func.max(LoginRecord.at)).where(
        LoginRecord.email == attempt.email, LoginRecord.success.is_(True), LoginRecord.at > since))
    failures = _failure_times(session, LoginRecord.email == attempt.email, last_success or since)
    return lockout.wait(failures, lock_after=POLICY.account_lock_after, now=attempt.now, policy=POLICY)


def ip_wait(session: Session, attempt: Attempt) -> timedelta:
    # A success does not clear an address's count: signing in to one's own account must not
    # reset the budget for guessing at others'.
    failures = _failure_times(session, LoginRecord.ip == attempt.ip, attempt.now - POLICY.window - POLICY.lock_for)
    return lockout.wait(failures, lock_after=POLICY.ip_lock_after, now=attempt.now, policy=IP_POLICY)


def _failure_times(session: Session, where, since: datetime) -> list[datetime]:
    rows = session.scalars(select(LoginRecord.at).where(
        where, LoginRecord.at > since, LoginRecord.outcome.in_([o.value for o in COUNTED]))
        .order_by(LoginRecord.at.desc()).limit(POLICY.ip_lock_after))
    return sorted(rows)
