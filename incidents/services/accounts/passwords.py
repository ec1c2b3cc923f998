"""Passwords: Argon2id hashes (argon2-cffi defaults), the policy, and changes that end old sessions."""
from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from incidents.domain import password_policy
from incidents.models import User
from incidents.services.errors import Invalid

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile
# Verified when the e-mail is unknown, so a miss costs as long as a wrong password.
_DUMMY = _hasher.hash("not a password anyone has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(user: User | None, password: str) -> bool:
    """True if the password is the user's; spends the same time when there is no such user."""
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY
    try:
        ok = _hasher.verify(stored, password[: password_policy.MAX_LENGTH + 1])
    except (VerificationError, InvalidHashError):
        return False
    if user is None or not user.password_hash:
        return False
    if ok and _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return ok


def set_password(user: User, password: str, *, now: datetime, current: str | None = None) -> None:
    """Set a new password that meets the policy; every other session of the user ends."""
    found = password_policy.problems(password, email=user.email, name=user.name)
    if found:
        raise Invalid(" ".join(found))
    if user.password_hash and verify(user, password):
        raise Invalid("Choose a password different from the current one.")
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.must_change_password = False
    user.session_epoch += 1


def must_change(user: User, *, max_age_days: int, now: datetime) -> bool:
    max_age = timedelta(days=max_age_days) if max_age_days else None
    return user.must_change_password or password_policy.expired(user.password_changed_at, max_age=max_age, now=now)
