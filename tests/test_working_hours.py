"""Working hours from the example configuration: inside/outside, the next working start, and
business-time arithmetic, across weekends, holidays and DST in Europe/London and America/New_York."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from incidents.domain.working_hours import (WorkingHours, add_working_time, from_config, is_working_time,
                                            local_instant, next_working_start, parse_clock, parse_days,
                                            parse_holidays, parse_weekday, validate, working_time_between)

UTC = timezone.utc
EXAMPLE = """
working_hours:
  timezone: Europe/London
  days: [mon, tue, wed, thu, fri]
  start: "09:00"
  end: "17:30"
  holidays: [2026-12-25, 2026-12-26, 2027-01-01]
"""
LONDON = WorkingHours("Europe/London", frozenset(range(5)), time(9), time(17, 30),
                      frozenset({date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)}))
NEW_YORK = WorkingHours("America/New_York", frozenset(range(5)), time(9), time(17))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_example_section_parses_to_the_london_hours():
    hours, errors = from_config(yaml.safe_load(EXAMPLE)["working_hours"])
    assert (hours, errors) == (LONDON, [])


@pytest.mark.parametrize("day, clock, zone, expected", [
    (date(2026, 11, 23), time(9), "Europe/London", utc(2026, 11, 23, 9)),
    (date(2026, 7, 6), time(9), "Europe/London", utc(2026, 7, 6, 8)),              # BST
    (date(2026, 3, 29), time(1, 30), "Europe/London", utc(2026, 3, 29, 1)),        # gap: 02:00 BST
    (date(2026, 3, 29), time(1), "Europe/London", utc(2026, 3, 29, 1)),            # gap's first minute
    (date(2026, 3, 29), time(2), "Europe/London", utc(2026, 3, 29, 1)),            # just after the gap
    (date(2026, 10, 25), time(1, 30), "Europe/London", utc(2026, 10, 25, 0, 30)),  # ambiguous: BST first
    (date(2026, 10, 25), time(2), "Europe/London", utc(2026, 10, 25, 2)),
    (date(2026, 3, 8), time(2, 30), "America/New_York", utc(2026, 3, 8, 7)),       # gap: 03:00 EDT
    (date(2026, 11, 1), time(1, 30), "America/New_York", utc(2026, 11, 1, 5, 30)), # ambiguous: EDT first
    (date(2026, 10, 4), time(2, 15), "Australia/Lord_Howe", utc(2026, 10, 3, 15, 30)),  # 30-minute gap
])
def test_local_instant(day, clock, zone, expected):
    assert local_instant(day, clock, ZoneInfo(zone)) == expected


@pytest.mark.parametrize("at, expected", [
    (utc(2026, 11, 23, 9), True),                 # Monday, GMT
    (utc(2026, 11, 23, 8, 59, 59), False),
    (utc(2026, 11, 23, 17, 29, 59), True),
    (utc(2026, 11, 23, 17, 30), False),           # the end is outside
    (utc(2026, 11, 28, 12), False),               # Saturday
    (utc(2026, 7, 6, 8), True),                   # 09:00 BST
    (utc(2026, 7, 6, 7, 59), False),
    (utc(2026, 7, 6, 16, 30), False),             # 17:30 BST
    (utc(2026, 3, 30, 8), True),                  # the Monday after the spring change
    (utc(2026, 3, 27, 9), True),                  # the Friday before it
    (utc(2026, 10, 26, 8, 30), False),            # the Monday after the autumn change: 08:30 GMT
    (utc(2026, 10, 23, 8, 30), True),             # the Friday before it: 09:30 BST
    (utc(2026, 12, 24, 12), True),
    (utc(2026, 12, 25, 12), False),               # holiday (Friday)
    (utc(2027, 1, 1, 12), False),                 # holiday (Friday)
    (datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("America/New_York")), True),  # 15:00 UTC
])
def test_is_working_time_in_london(at, expected):
    assert is_working_time(LONDON, at) is expected


@pytest.mark.parametrize("at, expected", [
    (utc(2026, 11, 23, 10), utc(2026, 11, 23, 10)),          # inside: now
    (utc(2026, 11, 23, 3), utc(2026, 11, 23, 9)),            # early: this morning
    (utc(2026, 11, 23, 17, 30), utc(2026, 11, 24, 9)),       # at the end: tomorrow
    (utc(2026, 11, 27, 18), utc(2026, 11, 30, 9)),           # Friday night: Monday
    (utc(2026, 12, 24, 17, 30), utc(2026, 12, 28, 9)),       # Christmas Eve: past both holidays
    (utc(2026, 12, 31, 20), utc(2027, 1, 4, 9)),             # New Year's Eve: past 1 January
    (utc(2026, 3, 27, 18), utc(2026, 3, 30, 8)),             # over the spring change: 09:00 BST
    (utc(2026, 10, 23, 17), utc(2026, 10, 26, 9)),           # over the autumn change: 09:00 GMT
])
def test_next_working_start_in_london(at, expected):
    assert next_working_start(LONDON, at) == expected


@pytest.mark.parametrize("at, expected", [
    (utc(2026, 3, 7, 12), utc(2026, 3, 9, 13)),              # Saturday before EDT: Monday 09:00 EDT
    (utc(2026, 10, 30, 22), utc(2026, 11, 2, 14)),           # Friday before EST: Monday 09:00 EST
    (utc(2026, 3, 9, 13), utc(2026, 3, 9, 13)),
])
def test_next_working_start_in_new_york(at, expected):
    assert next_working_start(NEW_YORK, at) == expected


def test_next_working_start_is_utc_for_any_aware_input():
    at = datetime(2026, 11, 23, 11, tzinfo=ZoneInfo("Europe/Paris"))  # 10:00 UTC, inside
    result = next_working_start(LONDON, at)
    assert result == at and result.tzinfo == UTC


def test_a_period_starting_in_the_gap_starts_when_the_gap_ends():
    sunday = WorkingHours("Europe/London", frozenset({6}), time(1, 30), time(4))
    assert next_working_start(sunday, utc(2026, 3, 28, 23)) == utc(2026, 3, 29, 1)
    assert not is_working_time(sunday, utc(2026, 3, 29, 0, 59))
    assert is_working_time(sunday, utc(2026, 3, 29, 1))
    assert working_time_between(sunday, utc(2026, 3, 28), utc(2026, 3, 30)) == timedelta(hours=2)


def test_an_ambiguous_start_is_the_first_occurrence():
    sunday = WorkingHours("Europe/London", frozenset({6}), time(1, 30), time(4))
    assert next_working_start(sunday, utc(2026, 10, 24, 23)) == utc(2026, 10, 25, 0, 30)
    assert working_time_between(sunday, utc(2026, 10, 24), utc(2026, 10, 26)) == timedelta(hours=3, minutes=30)


H = timedelta(hours=1)


@pytest.mark.parametrize("start, end, expected", [
    (utc(2026, 11, 23, 9), utc(2026, 11, 27, 17, 30), 42.5 * H),     # a whole working week
    (utc(2026, 11, 23), utc(2026, 11, 30), 42.5 * H),
    (utc(2026, 12, 21), utc(2026, 12, 28), 34 * H),                  # Christmas Day off
    (utc(2026, 12, 28), utc(2027, 1, 4), 34 * H),                    # New Year's Day off
    (utc(2026, 11, 23, 12), utc(2026, 11, 23, 13), 1 * H),
    (utc(2026, 11, 27, 17), utc(2026, 11, 30, 10), 1.5 * H),         # over a weekend
    (utc(2026, 11, 28), utc(2026, 11, 29, 23), 0 * H),
    (utc(2026, 3, 23), utc(2026, 3, 30, 12), 46.5 * H),              # Mon 09:00 BST is 08:00 UTC
    (utc(2026, 11, 24), utc(2026, 11, 23), 0 * H),                   # backwards: nothing
    (utc(2026, 11, 23, 10), utc(2026, 11, 23, 10), 0 * H),
])
def test_working_time_between(start, end, expected):
    assert working_time_between(LONDON, start, end) == expected


def test_working_time_is_elapsed_time_on_a_dst_day():
    all_day = WorkingHours("Europe/London", frozenset(range(7)), time(0), time(23, 59))
    spring = working_time_between(all_day, utc(2026, 3, 29), utc(2026, 3, 29, 23))  # Sunday 29 March
    autumn = working_time_between(all_day, utc(2026, 10, 24, 23), utc(2026, 10, 26))  # Sunday 25 October
    assert (spring, autumn) == (timedelta(hours=22, minutes=59), timedelta(hours=24, minutes=59))


@pytest.mark.parametrize("start, duration, expected", [
    (utc(2026, 11, 23, 16, 30), 2 * H, utc(2026, 11, 24, 10)),       # one hour today, one tomorrow
    (utc(2026, 11, 23, 9), 8.5 * H, utc(2026, 11, 23, 17, 30)),      # exactly a day: ends at 17:30
    (utc(2026, 11, 27, 17), 1 * H, utc(2026, 11, 30, 9, 30)),        # over the weekend
    (utc(2026, 11, 28, 12), 0.5 * H, utc(2026, 11, 30, 9, 30)),      # from Saturday
    (utc(2026, 12, 24, 17), 1 * H, utc(2026, 12, 28, 9, 30)),        # over Christmas
    (utc(2026, 3, 27, 17), 1 * H, utc(2026, 3, 30, 8, 30)),          # over the spring change
    (utc(2026, 10, 23, 16), 1 * H, utc(2026, 10, 26, 9, 30)),        # over the autumn change
    (utc(2026, 11, 23, 9), 48 * H, utc(2026, 11, 30, 14, 30)),       # a class-3 SLA in working hours
    (utc(2026, 11, 28, 12), 0 * H, utc(2026, 11, 28, 12)),           # nothing to add: now
])
def test_add_working_time(start, duration, expected):
    assert add_working_time(LONDON, start, duration) == expected


def test_add_working_time_refuses_negative_durations():
    with pytest.raises(ValueError, match="negative"):
        add_working_time(LONDON, utc(2026, 11, 23), -H)


instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(start=instants, minutes=st.integers(min_value=0, max_value=60 * 24 * 20),
       hours=st.sampled_from([LONDON, NEW_YORK]))
def test_adding_then_measuring_working_time_round_trips(start, minutes, hours):
    duration = timedelta(minutes=minutes)
    deadline = add_working_time(hours, start, duration)
    assert deadline >= start
    assert working_time_between(hours, start, deadline) == duration
    if minutes:  # a deadline falls inside working hours or at a period's very end
        assert is_working_time(hours, deadline - timedelta(microseconds=1))


@settings(max_examples=150, deadline=None)
@given(at=instants, hours=st.sampled_from([LONDON, NEW_YORK]))
def test_next_working_start_is_working_and_nothing_earlier_is(at, hours):
    begin = next_working_start(hours, at)
    assert is_working_time(hours, begin)
    assert working_time_between(hours, at, begin) == timedelta(0)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        is_working_time(LONDON, datetime(2026, 11, 23, 10))


def test_hours_with_no_working_day_say_so():
    never = WorkingHours("Europe/London", frozenset(), time(9), time(17))
    with pytest.raises(ValueError, match="no working day"):
        next_working_start(never, utc(2026, 11, 23))


# --- parsing and validation ---------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [("mon", 0), ("Sun", 6), (" friday ", 4), ("WED", 2)])
def test_parse_weekday(value, expected):
    assert parse_weekday(value) == expected


@pytest.mark.parametrize("value, message", [
    ([], "expected a list of days"),
    ("mon", "expected a list of days"),
    (["funday"], "unknown day 'funday'"),
    ([0, 1], "unknown day 0"),
    (["mon", "Monday"], "listed twice"),
])
def test_parse_days_errors(value, message):
    with pytest.raises(ValueError, match=message):
        parse_days(value)


@pytest.mark.parametrize("value, expected", [("09:00", time(9)), ("9:05", time(9, 5)), ("23:59", time(23, 59)),
                                             (time(17, 30), time(17, 30))])
def test_parse_clock(value, expected):
    assert parse_clock(value) == expected


@pytest.mark.parametrize("value, message", [
    (540, r'put the time in quotes: "09:00"'),   # YAML 1.1 reads unquoted 09:00 as 540
    ("24:00", "expected 24-hour HH:MM"),
    ("09:60", "expected 24-hour HH:MM"),
    ("0900", "expected 24-hour HH:MM"),
    ("9am", "expected 24-hour HH:MM"),
    (None, "expected 24-hour HH:MM"),
])
def test_parse_clock_errors(value, message):
    with pytest.raises(ValueError, match=message):
        parse_clock(value)


def test_parse_holidays_takes_yaml_dates_and_strings():
    assert parse_holidays([date(2026, 12, 25), "2027-01-01"]) == {date(2026, 12, 25), date(2027, 1, 1)}
    assert parse_holidays(None) == frozenset()
    with pytest.raises(ValueError, match="invalid date '2026-13-01'"):
        parse_holidays(["2026-13-01"])
    with pytest.raises(ValueError, match="list of dates"):
        parse_holidays("2026-12-25")


def test_from_config_reports_every_problem_with_its_field():
    hours, errors = from_config({"timezone": "Mars/Olympus", "days": ["funday"], "start": 540,
                                 "holidays": ["soon"], "lunch": "12:00"})
    assert hours is None
    assert errors == [
        "lunch: unknown key; expected timezone, days, start, end, holidays",
        "days: unknown day 'funday'; expected one of mon, tue, wed, thu, fri, sat, sun",
        'start: invalid time 540 (put the time in quotes: "09:00"); expected 24-hour HH:MM, like "09:00"',
        "end: missing",
        "holidays: invalid date 'soon'; expected YYYY-MM-DD, like 2026-12-25",
    ]


def test_from_config_checks_the_zone_and_the_order_of_start_and_end():
    hours, errors = from_config({"timezone": "Mars/Olympus", "days": ["mon"], "start": "18:00", "end": "09:00"})
    assert hours is None
    assert errors == ["timezone: unknown time zone 'Mars/Olympus'; expected an IANA name like 'Europe/London'",
                      "end: 09:00 must be after start 18:00; working hours cannot cross midnight"]


def test_from_config_takes_the_default_timezone():
    hours, errors = from_config({"days": ["mon"], "start": "09:00", "end": "17:00"}, "America/New_York")
    assert errors == [] and hours.timezone == "America/New_York" and hours.holidays == frozenset()
    assert from_config({"days": ["mon"], "start": "09:00", "end": "17:00"})[1] == [
        "timezone: missing; name an IANA zone like 'Europe/London'"]
    assert from_config(["mon"])[1] == ["expected a mapping with timezone, days, start, end and holidays"]


def test_validate_accepts_the_example():
    assert validate(LONDON) == []
