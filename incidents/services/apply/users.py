"""Users by e-mail (case-insensitive): created or updated; with --prune, those not in the file are deactivated."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.models import User
from incidents.services.apply.result import ApplyResult
from incidents.services.apply.rows import assign
from incidents.services.apply.specs import UserSpec


def sync_users(session: Session, specs: list[UserSpec], *, prune: bool, result: ApplyResult) -> None:
    result.section("users")
    by_email = {u.email.lower(): u for u in session.scalars(select(User))}
    for spec in specs:
        values = dict(name=spec.name, role=spec.role, phone=spec.phone, slack_user_id=spec.slack_user_id,
                      timezone=spec.timezone, active=True)
        row = by_email.get(spec.email)
        if row is None:
            session.add(User(email=spec.email, created_at=clock.now(), **values))
            result.count("users", "created")
        else:
            result.count("users", "updated" if assign(row, email=spec.email, **values) else "unchanged")
    if prune:
        keep = {s.email for s in specs}
        for email, row in by_email.items():
            if email not in keep and row.active:
                row.active = False
                result.count("users", "deactivated")
