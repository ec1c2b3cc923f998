"""Working hours: when reports go to triage, when class-3 pages may go out, and business-time
arithmetic for SLA clocks measured in working hours.

Pure: every function takes the instant it reasons about; instants are timezone-aware and results
are UTC. Rules:
- A working period is [start, end) in local time on each working day that is not a holiday;
  holidays are local dates and count as outside. Periods do not cross midnight (start < end).
- Local times become instants by one rule, shared with rotation handoffs (`local_instant`):
  a wall time that does not exist (the spring-forward gap) happens at the first instant after the
  gap; an ambiguous one (fall-back) is its first occurrence.
- Working time is elapsed time: a period that contains a DST change is an hour shorter or longer.
- Adding working time that uses up a period exactly ends at that period's end (17:30), not at the
  next period's start.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEARCH_DAYS = 400  # longer than any run of holidays and weekends a real calendar has


@dataclass(frozen=True)
class WorkingHours:
    timezone: str
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    holidays: frozenset[date] = frozenset()


# --- time zones and wall clocks --------------------------------------------------------------

def zone(name: str) -> ZoneInfo:
    """The IANA zone; ValueError with a clear message when there is no such zone."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {name!r}; expected an IANA name like 'Europe/London'") from None


def require_aware(**instants: datetime) -> None:
    """Naive datetimes are refused: their meaning depends on the machine's zone."""
    for name, value in instants.items():
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def local_instant(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall time `clock` on `day` in `tz` (gap: first instant after it;
    fall-back: first occurrence)."""
    wall = datetime.combine(day, clock.replace(tzinfo=None, fold=0))
    first = wall.replace(tzinfo=tz).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # In a gap fold=0 and fold=1 land either side of the transition; find it to the second.
    other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = int(min(first, other).timestamp()), int(max(first, other).timestamp())
    while high - low > 1:  # invariant: wall(low) < wall <= wall(high)
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


# --- the calendar ------------------------------------------------------------------------------

def is_working_time(wh: WorkingHours, at: datetime) -> bool:
    """Whether `at` falls inside a working period (holidays are outside)."""
    require_aware(at=at)
    period = _period(wh, at.astimezone(zone(wh.timezone)).date())
    return period is not None and period[0] <= at < period[1]


def next_working_start(wh: WorkingHours, at: datetime) -> datetime:
    """`at` itself (in UTC) when inside working hours, else the start of the next working period."""
    require_aware(at=at)
    for begin, end in _periods_from(wh, at):
        if end > at:
            return max(begin, at.astimezone(UTC))
    raise _no_periods(wh)


def working_time_between(wh: WorkingHours, start: datetime, end: datetime) -> timedelta:
    """Working time in [start, end); zero when end is not after start."""
    require_aware(start=start, end=end)
    total = timedelta(0)
    if end <= start:
        return total
    tz = zone(wh.timezone)
    day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    while day <= last:
        period = _period(wh, day)
        if period is not None:
            total += max(timedelta(0), min(period[1], end) - max(period[0], start))
        day += timedelta(days=1)
    return total


def add_working_time(wh: WorkingHours, start: datetime, duration: timedelta) -> datetime:
    """The instant at which `duration` of working time has passed since `start` (an SLA deadline)."""
    require_aware(start=start)
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if not duration:
        return start.astimezone(UTC)
    remaining = duration
    for begin, end in _periods_from(wh, start):
        begin = max(begin, start.astimezone(UTC))
        if end <= begin:
            continue
        if remaining <= end - begin:
            return begin + remaining
        remaining -= end - begin
    raise _no_periods(wh)  # pragma: no cover - _periods_from is endless when any period exists


def _period(wh: WorkingHours, day: date) -> tuple[datetime, datetime] | None:
    """The working period on local date `day` as UTC instants, or None on a day off."""
    if day.weekday() not in wh.days or day in wh.holidays:
        return None
    tz = zone(wh.timezone)
    return local_instant(day, wh.start, tz), local_instant(day, wh.end, tz)


def _periods_from(wh: WorkingHours, at: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working periods from the local day of `at` on; stops after SEARCH_DAYS days without one."""
    day = at.astimezone(zone(wh.timezone)).date()
    idle = 0
    while idle < SEARCH_DAYS:
        period = _period(wh, day)
        day += timedelta(days=1)
        if period is None:
            idle += 1
            continue
        idle = 0
        yield period


def _no_periods(wh: WorkingHours) -> ValueError:
    return ValueError(f"working hours have no working day within {SEARCH_DAYS} days "
                      f"(days {sorted(wh.days)}, {len(wh.holidays)} holidays)")


# --- checks and the vigil.yaml forms ----------------------------------------------------------

def validate(wh: WorkingHours) -> list[str]:
    """Problems that make `wh` unusable, each prefixed with its field."""
    errors = []
    try:
        zone(wh.timezone)
    except ValueError as error:
        errors.append(f"timezone: {error}")
    if not wh.days:
        errors.append("days: no working days; list at least one, like [mon, tue, wed, thu, fri]")
    elif not all(isinstance(d, int) and 0 <= d <= 6 for d in wh.days):
        errors.append(f"days: {sorted(wh.days, key=str)} are not all weekdays 0 (Monday) to 6 (Sunday)")
    if wh.start >= wh.end:
        errors.append(f"end: {wh.end:%H:%M} must be after start {wh.start:%H:%M}; "
                      "working hours cannot cross midnight")
    return errors


def parse_weekday(value: Any) -> int:
    """'mon' or 'Monday' -> 0."""
    name = value.strip().lower() if isinstance(value, str) else None
    if name in DAY_NAMES:
        return DAY_NAMES.index(name)
    if name in _FULL_NAMES:
        return _FULL_NAMES.index(name)
    raise ValueError(f"unknown day {value!r}; expected one of {', '.join(DAY_NAMES)}")


def parse_days(value: Any) -> frozenset[int]:
    """[mon, tue, ...] -> {0, 1, ...}; at least one day, none twice."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError("expected a list of days, like [mon, tue, wed, thu, fri]")
    days = [parse_weekday(item) for item in value]
    if len(set(days)) != len(days):
        raise ValueError(f"a day is listed twice in {list(value)}")
    return frozenset(days)


def parse_clock(value: Any) -> time:
    """'09:00' -> time(9, 0). Unquoted 09:00 reaches us as the number 540 (YAML 1.1 base 60)."""
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        hours, sep, minutes = value.strip().partition(":")
        if sep and len(minutes) == 2 and hours.isdigit() and minutes.isdigit() and len(hours) <= 2:
            if int(hours) < 24 and int(minutes) < 60:
                return time(int(hours), int(minutes))
    hint = ' (put the time in quotes: "09:00")' if isinstance(value, int) else ""
    raise ValueError(f"invalid time {value!r}{hint}; expected 24-hour HH:MM, like \"09:00\"")


def parse_holidays(value: Any) -> frozenset[date]:
    """[2026-12-25, ...]: YAML dates or ISO strings."""
    if value is None:
        return frozenset()
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of dates, like [2026-12-25, 2027-01-01]")
    days = set()
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item).strip()))
        except ValueError:
            raise ValueError(f"invalid date {item!r}; expected YYYY-MM-DD, like 2026-12-25") from None
    return frozenset(days)


def from_config(data: Any, default_timezone: str | None = None) -> tuple[WorkingHours | None, list[str]]:
    """The `working_hours` section as WorkingHours, or None and every problem ("days: ...")."""
    if not isinstance(data, Mapping):
        return None, ["expected a mapping with timezone, days, start, end and holidays"]
    unknown = sorted(set(map(str, data)) - {"timezone", "days", "start", "end", "holidays"})
    errors = [f"{key}: unknown key; expected timezone, days, start, end, holidays" for key in unknown]
    values: dict[str, Any] = {"timezone": data.get("timezone", default_timezone)}
    if values["timezone"] is None:
        errors.append("timezone: missing; name an IANA zone like 'Europe/London'")
    for key, parse in (("days", parse_days), ("start", parse_clock), ("end", parse_clock),
                       ("holidays", parse_holidays)):
        if key not in data and key != "holidays":
            errors.append(f"{key}: missing")
            continue
        try:
            values[key] = parse(data.get(key))
        except ValueError as error:
            errors.append(f"{key}: {error}")
    if errors:
        return None, errors
    hours = WorkingHours(**values)
    errors = validate(hours)
    return (None, errors) if errors else (hours, [])
