"""Weekly on-call rotations: who is on call at an instant, and the shifts over a range.

Rules:
- Handoffs happen every week at the handoff weekday and LOCAL time in the rotation's timezone, so
  across a daylight-saving change a shift lasts 167 or 169 hours.
- The first shift starts at the first handoff on or after the start date; before it nobody is on
  call. Member i covers weeks i, i + n, i + 2n, …
- A local handoff time that does not exist (spring-forward gap) happens at the first instant
  after the gap; an ambiguous one (fall-back) at its first occurrence.
- An override covers [start, end) for its user, cutting into the regular shifts; when overrides
  overlap, the one listed later wins.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Handoff:
    weekday: int  # 0 = Monday
    at: time


@dataclass(frozen=True)
class RotationSpec:
    name: str
    timezone: str
    handoff: Handoff
    start: date
    members: tuple[str, ...]


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


def validate(spec: RotationSpec) -> list[str]:
    errors = []
    if not spec.members:
        errors.append("members: a rotation needs at least one member")
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(f"timezone: unknown timezone {spec.timezone!r}")
    if not 0 <= spec.handoff.weekday <= 6:
        errors.append("handoff.day: expected mon … sun")
    return errors


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local date and time; a time inside a DST gap moves past the gap."""
    naive = datetime.combine(day, at)
    utc = naive.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    if utc.astimezone(zone).replace(tzinfo=None) == naive:
        return utc
    # Nonexistent wall time: the two offsets bracket the gap; find its end, minute by minute.
    early = naive.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    probe = min(early, utc)
    while probe.astimezone(zone).replace(tzinfo=None) < naive:
        probe += timedelta(minutes=1)
    return probe


def _first_handoff_date(spec: RotationSpec) -> date:
    return spec.start + timedelta(days=(spec.handoff.weekday - spec.start.weekday()) % 7)


def _handoff(spec: RotationSpec, week: int) -> datetime:
    zone = ZoneInfo(spec.timezone)
    return local_instant(_first_handoff_date(spec) + week * WEEK, spec.handoff.at, zone)


def _week_at(spec: RotationSpec, at: datetime) -> int | None:
    """The index of the regular shift covering `at`, or None before the first handoff."""
    first = _handoff(spec, 0)
    if at < first:
        return None
    week = int((at - first) / WEEK)
    # Local handoffs drift an hour against UTC around DST: settle on the right week.
    while _handoff(spec, week) > at:
        week -= 1
    while _handoff(spec, week + 1) <= at:
        week += 1
    return week


def _regular(spec: RotationSpec, week: int) -> Shift:
    return Shift(spec.members[week % len(spec.members)], _handoff(spec, week), _handoff(spec, week + 1))


def regular_shifts(spec: RotationSpec, start: datetime, end: datetime) -> list[Shift]:
    """The weekly shifts intersecting [start, end), uncut by overrides."""
    if not spec.members or end <= start:
        return []
    week = _week_at(spec, start)
    week = 0 if week is None else week
    shifts = []
    while True:
        shift = _regular(spec, week)
        if shift.start >= end:
            return shifts
        shifts.append(shift)
        week += 1


def shifts_between(spec: RotationSpec, overrides: Sequence[Override], start: datetime,
                   end: datetime) -> list[Shift]:
    """Shifts intersecting [start, end), overrides cut into them, in time order."""
    pieces = regular_shifts(spec, start, end)
    for override in overrides:
        if override.end <= start or override.start >= end or override.end <= override.start:
            continue
        pieces = _cut(pieces, override)
    return [p for p in pieces if p.end > start and p.start < end]


def _cut(pieces: list[Shift], override: Override) -> list[Shift]:
    out: list[Shift] = []
    for piece in pieces:
        if piece.end <= override.start or piece.start >= override.end:
            out.append(piece)
            continue
        if piece.start < override.start:
            out.append(Shift(piece.user, piece.start, override.start, piece.override))
        if piece.end > override.end:
            out.append(Shift(piece.user, override.end, piece.end, piece.override))
    out.append(Shift(override.user, override.start, override.end, True))
    return sorted(out, key=lambda s: s.start)


def oncall_at(spec: RotationSpec, overrides: Sequence[Override], at: datetime) -> Shift | None:
    """Who is on call at `at`, and the piece of coverage they are in (start, until when)."""
    for shift in shifts_between(spec, overrides, at, at + timedelta(microseconds=1)):
        if shift.start <= at < shift.end:
            return shift
    return None
