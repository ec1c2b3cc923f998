"""TOTP second factor (RFC 6238 via pyotp) with replay protection, and one-time recovery codes.

The TOTP secret is stored sealed (incidents.services.sealed) under the app's keys, which callers
pass as `keys`. A secret stored in clear before that (a legacy value) still works, and is sealed
the next time it is used (or by `vigil rotate-key`).
"""
from __future__ import annotations

import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import RecoveryCode, User
from incidents.services import sealed
from incidents.services.keys import hash_key

ISSUER = "Vigil"
RECOVERY_CODES = 10
STEP = 30
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper at 3 a.m.


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG markup (no script, safe under the CSP)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#111", light="#fff")


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step the code belongs to, allowing one step of clock drift either way."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now.timestamp()) // STEP
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def secret_of(user: User, keys: sealed.KeyMaterial) -> str | None:
    """The user's TOTP secret in clear, whether stored sealed or (legacy) in clear."""
    stored = user.totp_secret
    if not stored or not sealed.is_sealed(stored):
        return stored or None
    return sealed.unseal(keys, stored)


def pending_secret(user: User, keys: sealed.KeyMaterial) -> str:
    """The secret an enrolment shows: made (and stored sealed) once, so a reload shows the same code."""
    secret = secret_of(user, keys)
    if not secret:
        secret = new_secret()
        user.totp_secret = sealed.seal(keys, secret)
    return secret


def confirm_enrolment(user: User, *, secret: str, code: str, now: datetime, keys: sealed.KeyMaterial) -> bool:
    """Enrol the secret if the code proves the authenticator app has it."""
    step = _matching_step(secret, code, now)
    if step is None:
        return False
    user.totp_secret, user.totp_enrolled_at, user.totp_last_step = sealed.seal(keys, secret), now, step
    return True


def verify_code(user: User, code: str, *, now: datetime, keys: sealed.KeyMaterial) -> bool:
    """A code is good once: a replay of the last accepted step (or an older one) is refused."""
    secret = secret_of(user, keys)
    if not secret:
        return False
    if not sealed.is_sealed(user.totp_secret):  # a legacy clear value: sealed now, on its first use
        user.totp_secret = sealed.seal(keys, secret)
    step = _matching_step(secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Fresh codes (shown once); any earlier codes stop working."""
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_key(_normal(c))) for c in codes)
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def use_recovery_code(session: Session, user: User, code: str, *, now: datetime) -> bool:
    row = session.scalars(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == hash_key(_normal(code)),
        RecoveryCode.used_at.is_(None)).with_for_update()).first()
    if row is None:
        return False
    row.used_at = now
    return True


def recovery_codes_left(session: Session, user: User) -> int:
    return len(list(session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))))


def reset(session: Session, user: User) -> None:
    """An admin's reset: the user enrols again at the next sign-in."""
    user.totp_secret = user.totp_enrolled_at = user.totp_last_step = None
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    user.session_epoch += 1


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())[:32]
