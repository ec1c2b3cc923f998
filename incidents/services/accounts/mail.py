"""The words of account e-mails (invitation, password reset); links are made by the caller."""
from __future__ import annotations

from dataclasses import dataclass

from incidents.models import User
from incidents.services.accounts.tokens import LIFETIME


@dataclass(frozen=True)
class Letter:
    to: str
    subject: str
    text: str


def invitation(user: User, link: str, *, inviter: str) -> Letter:
    days = LIFETIME["invite"].days
    return Letter(user.email, "You are invited to Vigil", (
        f"Hello {user.name},\n\n{inviter} has invited you to Vigil, our incident console, as {user.role}.\n\n"
        f"Choose your password here (the link works once, for {days} days):\n{link}\n\n"
        "You will then set up a second factor with an authenticator app.\n"))


def password_reset(user: User, link: str) -> Letter:
    minutes = int(LIFETIME["reset"].total_seconds() // 60)
    return Letter(user.email, "Reset your Vigil password", (
        f"Hello {user.name},\n\nSomeone (we hope you) asked to reset your Vigil password.\n\n"
        f"Choose a new password here (the link works once, for {minutes} minutes):\n{link}\n\n"
        "If it was not you, ignore this e-mail; your password stays as it is.\n"))
