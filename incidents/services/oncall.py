"""Who is on call: rotations from the database, turned into the pure rotation model."""
from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from incidents.domain import rotation as model
from incidents.models import Rotation, RotationOverride, User
from incidents.services.errors import NotFound


def get(session: Session, name: str) -> Rotation:
    rotation = session.scalars(select(Rotation).where(Rotation.name == name).options(
        selectinload(Rotation.members), selectinload(Rotation.overrides))).first()
    if rotation is None:
        raise NotFound(f"rotation {name!r} does not exist")
    return rotation


def spec(rotation: Rotation) -> model.RotationSpec:
    hour, minute = (int(part) for part in rotation.handoff_time.split(":"))
    return model.RotationSpec(
        name=rotation.name, timezone=rotation.timezone,
        handoff=model.Handoff(rotation.handoff_weekday, time(hour, minute)),
        start=rotation.start_date,
        members=tuple(m.user.email for m in rotation.members))


def overrides(rotation: Rotation) -> list[model.Override]:
    return [model.Override(o.user.email, o.start, o.end) for o in rotation.overrides]


def oncall_at(session: Session, rotation: Rotation, at: datetime) -> tuple[User, model.Shift] | None:
    shift = model.oncall_at(spec(rotation), overrides(rotation), at)
    if shift is None:
        return None
    user = session.scalars(select(User).where(User.email == shift.user)).first()
    return (user, shift) if user is not None else None


def shifts(rotation: Rotation, start: datetime, end: datetime) -> list[model.Shift]:
    return model.shifts_between(spec(rotation), overrides(rotation), start, end)


def add_override(session: Session, *, rotation_name: str, user_email: str, start: datetime,
                 end: datetime, actor_label: str, now: datetime) -> RotationOverride:
    from incidents.services.errors import Invalid

    rotation = get(session, rotation_name)
    user = session.scalars(select(User).where(User.email == user_email.strip().lower())).first()
    if user is None or not user.active:
        raise Invalid(f"user: no active user {user_email!r}")
    if end <= start:
        raise Invalid("end: an override must end after it starts")
    row = RotationOverride(rotation=rotation, user=user, start=start, end=end, created_by=actor_label,
                           created_at=now)
    session.add(row)
    session.flush()
    return row
