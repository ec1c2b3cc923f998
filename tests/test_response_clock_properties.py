"""The response clock against a slow reference that walks time minute by minute, across random
pauses, working-hours calendars, holidays and DST changes (Europe/London, America/New_York)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from incidents.domain.response_clock import PauseError, ResponseClock
from incidents.domain.working_hours import WorkingHours

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
ZONES = ("Europe/London", "America/New_York", "UTC")
# Starts a few days before each 2026 DST change of both zones, so the walks cross them.
STARTS = (datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 26, tzinfo=UTC),
          datetime(2026, 10, 22, tzinfo=UTC), datetime(2026, 10, 29, tzinfo=UTC))


def reference(opened_at, response, hours, pauses, now):
    """(deadline or None, used at now), by walking minute by minute. Independent of
    working_hours.py: a minute counts when its local wall time is inside the hours on a working
    day that is not a holiday (hours here never touch the 01:00-03:00 DST changes)."""
    tz = ZoneInfo(hours.timezone) if hours else None

    def counts(t):
        if any(start <= t and (end is None or t < end) for start, end in pauses):
            return False
        if hours is None:
            return True
        local = t.astimezone(tz)
        return (local.weekday() in hours.days and local.date() not in hours.holidays
                and hours.start <= local.time().replace(tzinfo=None) < hours.end)

    used_at_now, counted, t, deadline = None, timedelta(0), opened_at, None
    open_from = next((start for start, end in pauses if end is None), None)
    limit = opened_at + timedelta(days=80)
    while t < limit:
        if t == now:
            used_at_now = counted
        if deadline is None and counted >= response:
            deadline = t
        if deadline is not None and used_at_now is not None:
            break
        if open_from is not None and t >= open_from and deadline is None and t >= now:
            break  # paused for good before the deadline
        if counts(t):
            counted += MINUTE
        t += MINUTE
    return deadline, used_at_now


@st.composite
def calendars(draw):
    if draw(st.booleans()):
        return None
    start = time(draw(st.integers(6, 11)), draw(st.sampled_from([0, 30])))
    end = time(draw(st.integers(13, 22)), draw(st.sampled_from([0, 15])))
    days = frozenset(draw(st.sets(st.integers(0, 6), min_size=1, max_size=7)))
    base = draw(st.sampled_from(STARTS)).date()
    holidays = frozenset(base + timedelta(days=d) for d in draw(st.sets(st.integers(0, 10), max_size=3)))
    return WorkingHours(draw(st.sampled_from(ZONES)), days, start, end, holidays)


@st.composite
def cases(draw):
    hours = draw(calendars())
    opened_at = draw(st.sampled_from(STARTS)) + draw(st.integers(0, 3 * 24 * 60)) * MINUTE
    response = draw(st.integers(0, 16 * 60)) * MINUTE
    pauses, at = [], opened_at
    for _ in range(draw(st.integers(0, 3))):
        start = at + draw(st.integers(0, 24 * 60)) * MINUTE
        end = None if draw(st.integers(0, 5)) == 0 else start + draw(st.integers(0, 20 * 60)) * MINUTE
        pauses.append((start, end))
        if end is None:
            break
        at = end
    now = opened_at + draw(st.integers(0, 5 * 24 * 60)) * MINUTE
    return opened_at, response, hours, pauses, now


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_clock_agrees_with_a_minute_by_minute_walk(case):
    opened_at, response, hours, pauses, now = case
    clock = ResponseClock.build(opened_at=opened_at, response_time=response, hours=hours, pauses=pauses)
    deadline, used = reference(opened_at, response, hours, pauses, now)
    assert clock.deadline() == deadline
    assert clock.used(now) == used
    assert clock.breached(now) == (deadline is not None and now >= deadline)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_a_pause_never_brings_the_deadline_forward(case):
    opened_at, response, hours, pauses, _ = case
    without = ResponseClock.build(opened_at=opened_at, response_time=response, hours=hours)
    paused = ResponseClock.build(opened_at=opened_at, response_time=response, hours=hours, pauses=pauses)
    assert paused.deadline() is None or paused.deadline() >= without.deadline()


def test_24x7_deadline_moves_by_the_pause_before_it():
    opened = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    clock = ResponseClock.build(opened_at=opened, response_time=timedelta(hours=2),
                                pauses=[(opened + timedelta(minutes=30), opened + timedelta(minutes=110))])
    assert clock.deadline() == opened + timedelta(hours=3, minutes=20)


def test_working_hours_skip_the_night_the_weekend_and_a_holiday_across_the_spring_change():
    hours = WorkingHours("Europe/London", frozenset(range(5)), time(9), time(17), frozenset({date(2026, 3, 30)}))
    opened = datetime(2026, 3, 27, 16, 0, tzinfo=UTC)  # Friday 16:00 GMT
    clock = ResponseClock.build(opened_at=opened, response_time=timedelta(hours=2), hours=hours)
    # One hour on Friday; Monday is a holiday; Tuesday 09:00 BST is 08:00 UTC.
    assert clock.deadline() == datetime(2026, 3, 31, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("pauses, problem", [
    ([(datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 1, 1, 11, tzinfo=UTC))], "before it starts"),
    ([(datetime(2026, 1, 1, 11, tzinfo=UTC), datetime(2026, 1, 1, 13, tzinfo=UTC)),
      (datetime(2026, 1, 1, 12, tzinfo=UTC), None)], "overlap"),
    ([(datetime(2026, 1, 1, 11, tzinfo=UTC), None),
      (datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 1, 1, 13, tzinfo=UTC))], "overlap"),
    ([(datetime(2026, 1, 1, 9, tzinfo=UTC), None)], "before the incident opened"),
])
def test_impossible_pauses_are_refused(pauses, problem):
    with pytest.raises(PauseError, match=problem):
        ResponseClock.build(opened_at=datetime(2026, 1, 1, 10, tzinfo=UTC),
                            response_time=timedelta(hours=2), pauses=pauses)
