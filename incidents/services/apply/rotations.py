"""Rotations by name with their members in order. Overrides are made at run time, not in the file, so
re-applying a rotation keeps them; with --prune, rotations not in the file are deleted (with their
members and overrides) unless a policy still pages them (references.py)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.models import Rotation, RotationMember, User
from incidents.services.apply.result import ApplyResult
from incidents.services.apply.rows import assign
from incidents.services.apply.specs import RotationSpec


def sync_rotations(session: Session, specs: list[RotationSpec], *, default_timezone: str,
                   result: ApplyResult) -> None:
    result.section("rotations")
    session.flush()  # users the file just added have ids
    users = {u.email.lower(): u for u in session.scalars(select(User))}
    by_name = {r.name: r for r in session.scalars(select(Rotation))}
    for spec in specs:
        values = dict(timezone=spec.timezone or default_timezone, handoff_weekday=spec.handoff_weekday,
                      handoff_time=spec.handoff_time, start_date=spec.start_date)
        members = [users[email] for email in spec.members]
        row = by_name.get(spec.name)
        if row is None:
            row = Rotation(name=spec.name, created_at=clock.now(), **values)
            row.members = _member_rows(members)
            session.add(row)
            result.count("rotations", "created")
            continue
        changed = assign(row, **values)
        changed = _replace_members(session, row, members) or changed
        result.count("rotations", "updated" if changed else "unchanged")


def _replace_members(session: Session, row: Rotation, members: list[User]) -> bool:
    """New member rows when the people or their order differ; True when they did."""
    if [m.user_id for m in row.members] == [u.id for u in members]:
        return False
    row.members.clear()
    session.flush()  # (rotation, position) is unique: the old rows go before the new ones arrive
    row.members.extend(_member_rows(members))
    return True


def _member_rows(members: list[User]) -> list[RotationMember]:
    return [RotationMember(position=position, user=user) for position, user in enumerate(members)]


def delete_rotations(session: Session, rows: list[Rotation], result: ApplyResult) -> None:
    for row in rows:
        session.delete(row)  # members and overrides go with it
        result.count("rotations", "deleted")
