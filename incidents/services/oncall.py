"""Who is on call: rotations from the database, turned into the pure rotation model."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from incidents import calendars
from incidents.domain import rotation as model
from incidents.models import Rotation, RotationMember, RotationOverride, User
from incidents.services import audit
from incidents.services.actor import Actor
from incidents.services.errors import Invalid, NotFound


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
    """In the order the model's precedence needs: on equal starts the one made later wins."""
    rows = sorted(rotation.overrides, key=lambda o: (o.start, o.id))
    return [model.Override(o.user.email, o.start, o.end) for o in rows]


def oncall_at(session: Session, rotation: Rotation, at: datetime) -> tuple[User, model.Shift] | None:
    shift = model.oncall_at(spec(rotation), overrides(rotation), at)
    if shift is None:
        return None
    user = session.scalars(select(User).where(User.email == shift.user)).first()
    return (user, shift) if user is not None else None


def shifts(rotation: Rotation, start: datetime, end: datetime) -> list[model.Shift]:
    return model.shifts_between(spec(rotation), overrides(rotation), start, end)


# What a person planning cover means (the console checks these; the API accepts any range).
PAST_GRACE = timedelta(minutes=15)  # "from now", typed a minute ago, is still now
MAX_AHEAD = MAX_LENGTH = timedelta(days=366)


def add_override(session: Session, *, rotation_name: str, user_email: str, start: datetime,
                 end: datetime, actor_label: str, now: datetime, actor: Actor | None = None,
                 where: audit.Where | None = None, planned: bool = False) -> RotationOverride:
    """Someone covers [start, end); overlapping overrides are allowed (the later start wins).

    `planned`: also refuse a start in the past (beyond PAST_GRACE), or one too far ahead or too
    long. With `actor` and `where` (the console) the change is written to the audit trail.
    """
    rotation = get(session, rotation_name)
    user = session.scalars(select(User).where(User.email == user_email.strip().lower())).first()
    if user is None or not user.active:
        raise Invalid(f"user: no active user {user_email!r}")
    problems = model.validate_override(model.Override(user.email, start, end))
    if not problems and planned:
        problems = _planning_problems(start, end, now)
    if problems:
        raise Invalid(problems[0])
    row = RotationOverride(rotation=rotation, user=user, start=start, end=end, created_by=actor_label,
                           created_at=now)
    session.add(row)
    session.flush()
    if actor is not None and where is not None:
        audit.record(session, actor=actor, where=where, action="override.create", target=rotation.name,
                     now=now, details={"override_id": row.id, "user": user.email,
                                       "start": start.isoformat(), "end": end.isoformat()})
    return row


def _planning_problems(start: datetime, end: datetime, now: datetime) -> list[str]:
    if start < now - PAST_GRACE:
        return [f"start: {start:%Y-%m-%d %H:%M} UTC is in the past; an override can start at most "
                f"{PAST_GRACE.seconds // 60} minutes ago"]
    if start > now + MAX_AHEAD:
        return [f"start: at most {MAX_AHEAD.days} days ahead"]
    if end - start > MAX_LENGTH:
        return [f"end: an override can last at most {MAX_LENGTH.days} days"]
    return []


# --- reading rotations for the API and the calendar feeds -------------------------------------

FEED_PAST, FEED_AHEAD = timedelta(weeks=4), timedelta(weeks=26)  # what a calendar feed covers


def list_rotations(session: Session) -> list[Rotation]:
    return list(session.scalars(select(Rotation).order_by(Rotation.name).options(
        selectinload(Rotation.members).selectinload(RotationMember.user))))


def active_users(session: Session) -> list[User]:
    """Who may cover a shift, by name (for choosing someone to cover)."""
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.name, User.email)))


def get_user(session: Session, email: str) -> User:
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"user {email!r} does not exist")
    return user


def users_by_email(session: Session, emails: Iterable[str]) -> dict[str, User]:
    """The users behind the e-mails in shifts, in one query (for names)."""
    wanted = set(emails)
    if not wanted:
        return {}
    return {u.email: u for u in session.scalars(select(User).where(User.email.in_(wanted)))}


def user_shifts(session: Session, email: str, start: datetime,
                end: datetime) -> list[tuple[str, model.Shift]]:
    """(rotation name, shift) for every shift `email` covers in [start, end), across rotations."""
    user = get_user(session, email)
    rotations = session.scalars(select(Rotation).order_by(Rotation.name).options(
        selectinload(Rotation.members).selectinload(RotationMember.user),
        selectinload(Rotation.overrides).selectinload(RotationOverride.user)))
    found = []
    for rotation in rotations:
        found.extend((rotation.name, s) for s in shifts(rotation, start, end) if s.user == user.email)
    return sorted(found, key=lambda pair: (pair[1].start, pair[0]))


def feed_window(now: datetime) -> tuple[datetime, datetime]:
    """The range a calendar feed covers: recent shifts for reference, half a year ahead to plan."""
    return now - FEED_PAST, now + FEED_AHEAD


def rotation_calendar(session: Session, *, rotation_name: str, now: datetime) -> bytes:
    rotation = get(session, rotation_name)
    found = shifts(rotation, *feed_window(now))
    names = {e: u.name for e, u in users_by_email(session, (s.user for s in found)).items()}
    return calendars.shifts_to_ical(rotation.name, found, uid_prefix=f"rotation-{rotation.id}",
                                    names=names)


def user_calendar(session: Session, *, email: str, now: datetime) -> bytes:
    user = get_user(session, email)
    found = user_shifts(session, user.email, *feed_window(now))
    return calendars.shifts_to_ical(f"On call: {user.name}", found, uid_prefix=f"user-{user.id}",
                                    names={user.email: user.name})


def remove_override(session: Session, *, rotation_name: str, override_id: int,
                    actor: Actor | None = None, where: audit.Where | None = None,
                    now: datetime | None = None) -> None:
    """Delete an override; with `actor`, `where` and `now` (the console) it is audited."""
    rotation = get(session, rotation_name)
    row = next((o for o in rotation.overrides if o.id == override_id), None)
    if row is None:
        raise NotFound(f"rotation {rotation_name!r} has no override {override_id}")
    details = {"override_id": row.id, "user": row.user.email, "start": row.start.isoformat(),
               "end": row.end.isoformat()}
    rotation.overrides.remove(row)  # delete-orphan
    session.flush()
    if actor is not None and where is not None and now is not None:
        audit.record(session, actor=actor, where=where, action="override.remove", target=rotation.name,
                     now=now, details=details)
