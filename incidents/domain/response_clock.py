"""The response clock: how much of an incident's response time is used, and when it runs out.

Pure. A clock runs from the opening time, 24x7 or in working hours only (a WorkingHours calendar,
holidays excluded), and stops while it is paused (e.g. waiting on the customer). Rules:
- The deadline is the instant at which the counted time reaches the response time. 24x7 that is
  the opening time plus the response time plus the pauses before it; in working hours, only
  working time outside pauses counts (a pause at night moves nothing).
- Pauses are [start, end); at most the last one is open (end None). While the clock is paused
  and the response time is not yet used, the deadline is unknown (None).
- A pause may not start before the opening time, end before it starts, or overlap another.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator, Sequence

from incidents.domain.working_hours import WorkingHours, add_working_time, require_aware, working_time_between

UTC = timezone.utc
TWENTY_FOUR_SEVEN = "24x7"
WORKING_HOURS = "working_hours"
CLOCK_KINDS = (TWENTY_FOUR_SEVEN, WORKING_HOURS)
# Shares of the response time at which, with no response yet, people are warned.
WARNING_FRACTIONS = (0.5, 0.8)

Pause = tuple[datetime, "datetime | None"]


class PauseError(ValueError):
    """Pauses that cannot be: ending before they start, overlapping, before the opening."""


def validate_pauses(opened_at: datetime, pauses: Sequence[Pause]) -> tuple[Pause, ...]:
    """The pauses in order (as UTC), or PauseError naming what is wrong."""
    require_aware(opened_at=opened_at)
    ordered = []
    for start, end in pauses:
        require_aware(start=start)
        if end is not None:
            require_aware(end=end)
            if end < start:
                raise PauseError(f"a pause cannot end ({end:%Y-%m-%d %H:%M}) before it starts "
                                 f"({start:%Y-%m-%d %H:%M})")
        if start < opened_at:
            raise PauseError(f"a pause cannot start ({start:%Y-%m-%d %H:%M}) before the incident "
                             f"opened ({opened_at:%Y-%m-%d %H:%M})")
        ordered.append((start.astimezone(UTC), None if end is None else end.astimezone(UTC)))
    ordered.sort(key=lambda pause: pause[0])
    for (start, end), (next_start, _) in zip(ordered, ordered[1:]):
        if end is None or next_start < end:
            raise PauseError(f"pauses overlap: one starting {next_start:%Y-%m-%d %H:%M} begins "
                             f"before the one starting {start:%Y-%m-%d %H:%M} has ended")
    return tuple(ordered)


@dataclass(frozen=True)
class ResponseClock:
    opened_at: datetime
    response_time: timedelta
    hours: WorkingHours | None = None  # None: 24x7
    pauses: tuple[Pause, ...] = ()

    @classmethod
    def build(cls, *, opened_at: datetime, response_time: timedelta, hours: WorkingHours | None = None,
              pauses: Sequence[Pause] = ()) -> ResponseClock:
        """A clock with its pauses checked (PauseError) and put in order."""
        if response_time < timedelta(0):
            raise ValueError(f"response time must not be negative, got {response_time}")
        return cls(opened_at.astimezone(UTC), response_time, hours, validate_pauses(opened_at, pauses))

    def deadline(self) -> datetime | None:
        """When the response time runs out; None while paused before it does."""
        return self.when_used(self.response_time)

    def when_used(self, amount: timedelta) -> datetime | None:
        """The instant at which `amount` of the clock has been counted (None: paused before)."""
        if amount <= timedelta(0):
            return self.opened_at
        remaining = amount
        for start, end in self._running():
            if end is None:
                return self._add(start, remaining)
            counted = self._count(start, end)
            if remaining <= counted:
                return self._add(start, remaining)
            remaining -= counted
        return None

    def used(self, now: datetime) -> timedelta:
        """How much of the clock has been counted by `now`."""
        require_aware(now=now)
        total = timedelta(0)
        for start, end in self._running():
            if start >= now:
                break
            total += self._count(start, now if end is None else min(end, now))
        return total

    def fraction(self, now: datetime) -> float:
        """Share of the response time used by `now` (1.0 or more: breached)."""
        if not self.response_time:
            return 1.0
        return self.used(now) / self.response_time

    def breached(self, now: datetime) -> bool:
        due = self.deadline()
        return due is not None and now >= due

    def paused(self, now: datetime) -> bool:
        return any(start <= now and (end is None or now < end) for start, end in self.pauses)

    def _running(self) -> Iterator[tuple[datetime, datetime | None]]:
        """The stretches the clock runs: between the opening, the pauses and (open) the future."""
        at = self.opened_at
        for start, end in self.pauses:
            if start > at:
                yield at, start
            if end is None:
                return
            at = max(at, end)
        yield at, None

    def _count(self, start: datetime, end: datetime) -> timedelta:
        if end <= start:
            return timedelta(0)
        return end - start if self.hours is None else working_time_between(self.hours, start, end)

    def _add(self, start: datetime, amount: timedelta) -> datetime:
        return start + amount if self.hours is None else add_working_time(self.hours, start, amount)


def next_check(clock: ResponseClock, *, warned: int,
               fractions: Sequence[float] = WARNING_FRACTIONS) -> datetime | None:
    """When the SLA sweep must next look: the next warning not yet sent, else the deadline
    (None while the clock is paused before it)."""
    if warned < len(fractions):
        return clock.when_used(clock.response_time * fractions[warned])
    return clock.deadline()
