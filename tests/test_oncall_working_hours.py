"""Working hours against a brute-force model that reads the wall clock minute by minute: a moment
is working time when the local weekday is a working day, the local date no holiday, and the local
time inside [start, end). tests/test_working_hours.py holds the table tests."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from incidents.domain.working_hours import (WorkingHours, add_working_time, is_working_time,
                                            next_working_start, working_time_between)

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
HOLIDAYS = frozenset({date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)})  # the example's
HOURS = [WorkingHours("Europe/London", frozenset(range(5)), time(9), time(17, 30), HOLIDAYS),
         WorkingHours("America/New_York", frozenset(range(5)), time(9), time(17), HOLIDAYS),
         WorkingHours("Australia/Lord_Howe", frozenset({0, 2, 4, 6}), time(2, 15), time(3), HOLIDAYS)]  # gap start
# Around both of 2026's changes in London and New York, Lord Howe's October one, and the holidays.
WINDOWS = [datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 27, tzinfo=UTC),
           datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC),
           datetime(2026, 10, 30, tzinfo=UTC), datetime(2026, 12, 20, tzinfo=UTC)]


def working(hours: WorkingHours, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(hours.timezone))
    return (local.weekday() in hours.days and local.date() not in hours.holidays
            and hours.start <= local.time() < hours.end)


def on_the_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0) + (MINUTE if at.second or at.microsecond else timedelta(0))


instants = st.builds(lambda base, seconds: base + timedelta(seconds=seconds),
                     st.sampled_from(WINDOWS), st.integers(0, 14 * 24 * 3600))


@settings(max_examples=200, deadline=None)
@given(hours=st.sampled_from(HOURS), at=instants)
def test_is_working_time_and_next_working_start_agree_with_the_clock(hours, at):
    assert is_working_time(hours, at) == working(hours, at)
    found = next_working_start(hours, at)
    expected = at if working(hours, at) else on_the_minute(at)
    while not working(hours, expected):
        expected += MINUTE
    assert found == expected


@settings(max_examples=100, deadline=None)
@given(hours=st.sampled_from(HOURS), at=instants, minutes=st.integers(0, 4 * 24 * 60))
def test_working_time_between_counts_the_working_minutes(hours, at, minutes):
    start = at.replace(second=0, microsecond=0)
    counted = sum(working(hours, start + i * MINUTE) for i in range(minutes))
    assert working_time_between(hours, start, start + minutes * MINUTE) == counted * MINUTE


@settings(max_examples=100, deadline=None)
@given(hours=st.sampled_from(HOURS), at=instants, minutes=st.integers(1, 3 * 8 * 60))
def test_add_working_time_ends_on_the_last_working_minute(hours, at, minutes):
    start = at.replace(second=0, microsecond=0)
    deadline = add_working_time(hours, start, minutes * MINUTE)
    assert working(hours, deadline - MINUTE)  # used up inside working time, not at a later start
    assert working_time_between(hours, start, deadline) == minutes * MINUTE


@settings(max_examples=100, deadline=None)
@given(hours=st.sampled_from(HOURS), at=instants)
def test_using_up_a_period_exactly_ends_at_its_end(hours, at):
    start = at.replace(second=0, microsecond=0)
    period_end = next_working_start(hours, start)
    while working(hours, period_end):
        period_end += MINUTE
    assert add_working_time(hours, start, working_time_between(hours, start, period_end)) == period_end
