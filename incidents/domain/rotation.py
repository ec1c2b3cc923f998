"""Weekly on-call rotations: who is on call at an instant, and the shifts over a range.

Pure: every function takes the instants it reasons about; they must be timezone-aware and every
result is UTC. Rules (GoAlert's weekly rotation, with overrides layered on top):
- Handoffs happen every week at the handoff weekday and LOCAL time in the rotation's timezone, so
  across a daylight-saving change a shift lasts 167 or 169 hours.
- The first shift starts at the first handoff on or after the start date (a handoff on the start
  date itself counts); before it nobody is on call. Member i covers weeks i, i + n, i + 2n, ...
- A local handoff time that does not exist (spring-forward gap) happens at the first instant
  after the gap; an ambiguous one (fall-back) at its first occurrence (fold=0).
- An override puts its user on call for [start, end), before the first handoff too, cutting the
  regular shift under it into before / override / after. An override spanning a handoff is one
  shift. When overrides overlap, the one that starts later wins; on equal starts, the later listed.
- `shifts_between` never merges pieces, so a shift is the same whatever range is asked (calendar
  UIDs stay stable). `oncall_at` answers "until when": it joins the piece under `at` with adjoining
  pieces of the same person, except at a regular handoff between two regular weeks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping, Sequence

from incidents.domain.working_hours import (UTC, local_instant, parse_clock, parse_weekday,
                                            require_aware, zone)

WEEK = timedelta(days=7)
TICK = timedelta(microseconds=1)
MAX_JOINS = 100  # adjoining pieces `oncall_at` joins at most, either way


@dataclass(frozen=True)
class Handoff:
    weekday: int  # 0 = Monday
    at: time  # local to the rotation's timezone


@dataclass(frozen=True)
class RotationSpec:
    name: str
    timezone: str
    handoff: Handoff
    start: date
    members: tuple[str, ...]  # user e-mails, in order


@dataclass(frozen=True)
class Override:
    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    user: str
    start: datetime
    end: datetime
    override: bool = False


# --- the public questions ----------------------------------------------------------------------

def oncall_at(spec: RotationSpec, overrides: Sequence[Override], at: datetime) -> Shift | None:
    """Who is on call at `at`, from when and until when; None when nobody is."""
    require_aware(at=at)
    here = _piece_at(spec, overrides, at)
    if here is None:
        return None
    later, earlier = here, here
    for _ in range(MAX_JOINS):
        after = _piece_at(spec, overrides, later.end)
        if not _joins(later, after):
            break
        later = after
    for _ in range(MAX_JOINS):
        before = _piece_at(spec, overrides, earlier.start - TICK)
        if not _joins(before, earlier):
            break
        earlier = before
    return Shift(here.user, earlier.start, later.end, here.override)


def shifts_between(spec: RotationSpec, overrides: Sequence[Override], start: datetime,
                   end: datetime) -> list[Shift]:
    """The shifts intersecting [start, end), whole (not clipped to the range), in time order."""
    require_aware(start=start, end=end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    active = _active(overrides)
    low, high = _hull(spec, active, start, end)
    return [s for s in _pieces(spec, active, low, high) if s.end > start and s.start < end]


def handoffs_between(spec: RotationSpec, start: datetime, end: datetime) -> list[datetime]:
    """The regular handoff instants in [start, end)."""
    require_aware(start=start, end=end)
    week = _week_at(spec, start)
    week = 0 if week < 0 else week if _handoff(spec, week) == start else week + 1
    found = []
    while (instant := _handoff(spec, week)) < end:
        found.append(instant)
        week += 1
    return found


# --- the timeline ------------------------------------------------------------------------------

def _first_handoff_date(spec: RotationSpec) -> date:
    return spec.start + timedelta(days=(spec.handoff.weekday - spec.start.weekday()) % 7)


def _handoff(spec: RotationSpec, week: int) -> datetime:
    """The start of regular week `week` (0 is the first)."""
    return local_instant(_first_handoff_date(spec) + week * WEEK, spec.handoff.at, zone(spec.timezone))


def _week_at(spec: RotationSpec, at: datetime) -> int:
    """The regular week covering `at`; negative before the first handoff."""
    local_day = at.astimezone(zone(spec.timezone)).date()
    week = (local_day - _first_handoff_date(spec)).days // 7
    while _handoff(spec, week) > at:  # the local guess is off by one near the handoff itself
        week -= 1
    while _handoff(spec, week + 1) <= at:
        week += 1
    return week


def _active(overrides: Sequence[Override]) -> list[tuple[int, Override]]:
    """Overrides that cover any time, in UTC, with their place in the list (for precedence)."""
    active = []
    for index, override in enumerate(overrides):
        require_aware(**{"override start": override.start, "override end": override.end})
        if override.end > override.start:
            active.append((index, Override(override.user, override.start.astimezone(UTC),
                                           override.end.astimezone(UTC))))
    return active


def _hull(spec: RotationSpec, active: list[tuple[int, Override]], start: datetime,
          end: datetime) -> tuple[datetime, datetime]:
    """A range holding, whole, every regular week and override that meets [start, end)."""
    low, high = start, end
    first, last = _week_at(spec, start), _week_at(spec, end - TICK)
    if first >= 0:
        low = _handoff(spec, first)
    if last >= 0:
        high = max(high, _handoff(spec, last + 1))
    for _, override in active:
        if override.start < end and override.end > start:
            low, high = min(low, override.start), max(high, override.end)
    return low, high


def _pieces(spec: RotationSpec, active: list[tuple[int, Override]], low: datetime,
            high: datetime) -> list[Shift]:
    """The timeline in [low, high): every boundary cuts, then pieces of one source rejoin."""
    cuts = {low, high}
    cuts.update(h for h in handoffs_between(spec, low, high) if low < h)
    for _, override in active:
        cuts.update(t for t in (override.start, override.end) if low < t < high)
    points = sorted(cuts)
    pieces: list[Shift] = []
    last_source = None
    for begin, finish in zip(points, points[1:]):
        source, user, override = _owner(spec, active, begin)
        if source is None:
            last_source = None
            continue
        if source == last_source:
            pieces[-1] = Shift(user, pieces[-1].start, finish, override)
        else:
            pieces.append(Shift(user, begin, finish, override))
        last_source = source
    return pieces


def _owner(spec: RotationSpec, active: list[tuple[int, Override]], at: datetime):
    """(source, user, is_override) for the instant `at`; source None when nobody is on call."""
    covering = [(o.start, index, o) for index, o in active if o.start <= at < o.end]
    if covering:
        _, index, override = max(covering, key=lambda item: (item[0], item[1]))
        return ("override", index), override.user, True
    week = _week_at(spec, at)
    if week < 0 or not spec.members:
        return None, None, False
    return ("week", week), spec.members[week % len(spec.members)], False


def _piece_at(spec: RotationSpec, overrides: Sequence[Override], at: datetime) -> Shift | None:
    for shift in shifts_between(spec, overrides, at, at + TICK):
        return shift
    return None


def _joins(first: Shift | None, second: Shift | None) -> bool:
    """Whether two adjoining pieces are one stretch of the same person's coverage."""
    if first is None or second is None or first.end != second.start or first.user != second.user:
        return False
    return first.override or second.override


# --- checks and the vigil.yaml forms ----------------------------------------------------------

def validate(spec: RotationSpec) -> list[str]:
    """Problems that make `spec` unusable, each prefixed with its field."""
    errors = []
    if not str(spec.name or "").strip():
        errors.append("name: a rotation needs a name")
    try:
        zone(spec.timezone)
    except ValueError as error:
        errors.append(f"timezone: {error}")
    if not isinstance(spec.handoff.weekday, int) or not 0 <= spec.handoff.weekday <= 6:
        errors.append(f"handoff.day: {spec.handoff.weekday!r} is not a weekday; expected mon ... sun")
    if not isinstance(spec.handoff.at, time):
        errors.append(f"handoff.time: {spec.handoff.at!r} is not a time of day")
    if not spec.members:
        errors.append("members: a rotation needs at least one member")
    for i, member in enumerate(spec.members):
        if not isinstance(member, str) or "@" not in member:
            errors.append(f"members[{i}]: {member!r} is not a user's e-mail")
    return errors


def validate_override(override: Override) -> list[str]:
    """Problems with an override as given to the API or the file."""
    errors = []
    if not isinstance(override.user, str) or not override.user.strip():
        errors.append("user: an override needs the user who covers")
    for name in ("start", "end"):
        value = getattr(override, name)
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            errors.append(f"{name}: needs a date, time and UTC offset, like 2026-11-02T09:00:00+00:00")
    if not errors and override.end <= override.start:
        errors.append(f"end: {override.end.isoformat()} must be after start {override.start.isoformat()}")
    return errors


def parse_handoff(value: Any) -> Handoff:
    """{day: mon, time: "09:00"} -> Handoff(0, time(9, 0)); ValueError names the field."""
    if not isinstance(value, Mapping):
        raise ValueError('expected a mapping like {day: mon, time: "09:00"}')
    unknown = sorted(set(map(str, value)) - {"day", "time"})
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key; expected day and time")
    fields = {}
    for key, parse in (("day", parse_weekday), ("time", parse_clock)):
        if key not in value:
            raise ValueError(f"{key}: missing")
        try:
            fields[key] = parse(value[key])
        except ValueError as error:
            raise ValueError(f"{key}: {error}") from None
    return Handoff(fields["day"], fields["time"])
