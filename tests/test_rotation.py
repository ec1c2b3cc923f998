"""Weekly rotations: handoffs at local time across DST in London and New York, handoffs in the
spring-forward gap and the autumn overlap, overrides at boundaries and across handoffs, and a
property test that the shifts tile time and agree with `oncall_at`."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings, strategies as st

from incidents.domain.rotation import (Handoff, Override, RotationSpec, Shift, handoffs_between, oncall_at,
                                       parse_handoff, shifts_between, validate, validate_override)

UTC = timezone.utc
H = timedelta(hours=1)
ANA, BEN, CARA, ZED = "ana@ops.example", "ben@ops.example", "cara@ops.example", "zed@ops.example"

# The example configuration's out-of-hours rotation.
EXAMPLE = RotationSpec("out-of-hours", "Europe/London", Handoff(0, time(9)), date(2026, 11, 2), (ANA, BEN, CARA))
# The same people from January, so the year's two DST changes fall inside shifts.
LONDON = RotationSpec("london", "Europe/London", Handoff(0, time(9)), date(2026, 1, 5), (ANA, BEN, CARA))
NEW_YORK = RotationSpec("new-york", "America/New_York", Handoff(0, time(9)), date(2026, 1, 5), (ANA, BEN, CARA))
# Sunday 01:30: a wall time that does not exist on 29 March and happens twice on 25 October in London.
SUNDAY_NIGHT = RotationSpec("sunday", "Europe/London", Handoff(6, time(1, 30)), date(2026, 3, 1), (ANA, BEN))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(spec, instant, overrides=()):
    shift = oncall_at(spec, list(overrides), instant)
    return None if shift is None else (shift.user, shift.start, shift.end, shift.override)


@pytest.mark.parametrize("instant, expected", [
    (utc(2026, 11, 1, 12), None),                                             # before the start date
    (utc(2026, 11, 2, 8, 59, 59), None),                                      # before the first handoff
    (utc(2026, 11, 2, 9), (ANA, utc(2026, 11, 2, 9), utc(2026, 11, 9, 9), False)),
    (utc(2026, 11, 9, 8, 59, 59), (ANA, utc(2026, 11, 2, 9), utc(2026, 11, 9, 9), False)),
    (utc(2026, 11, 9, 9), (BEN, utc(2026, 11, 9, 9), utc(2026, 11, 16, 9), False)),
    (utc(2026, 11, 20, 3), (CARA, utc(2026, 11, 16, 9), utc(2026, 11, 23, 9), False)),
    (utc(2026, 11, 23, 22), (ANA, utc(2026, 11, 23, 9), utc(2026, 11, 30, 9), False)),  # round again
    (utc(2027, 3, 24, 12), (CARA, utc(2027, 3, 22, 9), utc(2027, 3, 29, 8), False)),    # week 20, into BST
])
def test_the_example_rotation(instant, expected):
    assert at(EXAMPLE, instant) == expected


@pytest.mark.parametrize("spec, instant, start, end, hours", [
    # London: the week holding 29 March is an hour short, the week holding 25 October an hour long.
    (LONDON, utc(2026, 3, 29, 12), utc(2026, 3, 23, 9), utc(2026, 3, 30, 8), 167),
    (LONDON, utc(2026, 4, 1), utc(2026, 3, 30, 8), utc(2026, 4, 6, 8), 168),
    (LONDON, utc(2026, 10, 25, 12), utc(2026, 10, 19, 8), utc(2026, 10, 26, 9), 169),
    (LONDON, utc(2026, 10, 27), utc(2026, 10, 26, 9), utc(2026, 11, 2, 9), 168),
    # New York changes on 8 March and 1 November 2026.
    (NEW_YORK, utc(2026, 3, 8, 12), utc(2026, 3, 2, 14), utc(2026, 3, 9, 13), 167),
    (NEW_YORK, utc(2026, 11, 1, 12), utc(2026, 10, 26, 13), utc(2026, 11, 2, 14), 169),
    # Sunday 01:30 London: on 29 March the handoff is 02:00 BST (01:00 UTC), the end of the gap...
    (SUNDAY_NIGHT, utc(2026, 3, 28), utc(2026, 3, 22, 1, 30), utc(2026, 3, 29, 1), 167.5),
    (SUNDAY_NIGHT, utc(2026, 3, 29, 1), utc(2026, 3, 29, 1), utc(2026, 4, 5, 0, 30), 167.5),
    # ...and on 25 October the first 01:30 (BST, 00:30 UTC), not the second.
    (SUNDAY_NIGHT, utc(2026, 10, 25, 0, 29), utc(2026, 10, 18, 0, 30), utc(2026, 10, 25, 0, 30), 168),
    (SUNDAY_NIGHT, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 11, 1, 1, 30), 169),
])
def test_handoffs_keep_local_time_across_dst(spec, instant, start, end, hours):
    shift = oncall_at(spec, [], instant)
    assert (shift.start, shift.end) == (start, end)
    assert shift.end - shift.start == timedelta(hours=hours)


def test_new_york_gap_handoff_happens_when_the_gap_ends():
    spec = RotationSpec("ny-sunday", "America/New_York", Handoff(6, time(2, 30)), date(2026, 3, 1), (ANA, BEN))
    assert handoffs_between(spec, utc(2026, 3, 1), utc(2026, 3, 16)) == [
        utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 7), utc(2026, 3, 15, 6, 30)]
    assert at(spec, utc(2026, 3, 8, 6, 59))[0] == ANA
    assert at(spec, utc(2026, 3, 8, 7))[0] == BEN


@pytest.mark.parametrize("start, first", [
    (date(2026, 11, 2), utc(2026, 11, 2, 9)),   # the start date is a handoff day: it counts
    (date(2026, 11, 3), utc(2026, 11, 9, 9)),   # else the next handoff day
    (date(2026, 11, 8), utc(2026, 11, 9, 9)),
])
def test_the_first_handoff_is_on_or_after_the_start_date(start, first):
    spec = RotationSpec("r", "Europe/London", Handoff(0, time(9)), start, (ANA, BEN))
    shifts = shifts_between(spec, [], utc(2026, 10, 1), utc(2026, 11, 12))
    assert shifts[0] == Shift(ANA, first, first + 7 * 24 * H)


# --- overrides ---------------------------------------------------------------------------------

def shifts(overrides, start=utc(2026, 11, 2), end=utc(2026, 11, 17)):
    return [(s.user, s.start, s.end, s.override) for s in shifts_between(EXAMPLE, overrides, start, end)]


MON2, MON9, MON16, MON23 = utc(2026, 11, 2, 9), utc(2026, 11, 9, 9), utc(2026, 11, 16, 9), utc(2026, 11, 23, 9)


@pytest.mark.parametrize("overrides, expected", [
    ([], [(ANA, MON2, MON9, False), (BEN, MON9, MON16, False), (CARA, MON16, MON23, False)]),
    # inside a shift: before / override / after
    ([Override(ZED, utc(2026, 11, 4, 18), utc(2026, 11, 5, 8))],
     [(ANA, MON2, utc(2026, 11, 4, 18), False), (ZED, utc(2026, 11, 4, 18), utc(2026, 11, 5, 8), True),
      (ANA, utc(2026, 11, 5, 8), MON9, False), (BEN, MON9, MON16, False), (CARA, MON16, MON23, False)]),
    # starting exactly at a handoff
    ([Override(ZED, MON9, utc(2026, 11, 10, 9))],
     [(ANA, MON2, MON9, False), (ZED, MON9, utc(2026, 11, 10, 9), True), (BEN, utc(2026, 11, 10, 9), MON16, False),
      (CARA, MON16, MON23, False)]),
    # ending exactly at a handoff
    ([Override(ZED, utc(2026, 11, 8, 9), MON9)],
     [(ANA, MON2, utc(2026, 11, 8, 9), False), (ZED, utc(2026, 11, 8, 9), MON9, True), (BEN, MON9, MON16, False),
      (CARA, MON16, MON23, False)]),
    # exactly one whole shift
    ([Override(ZED, MON9, MON16)],
     [(ANA, MON2, MON9, False), (ZED, MON9, MON16, True), (CARA, MON16, MON23, False)]),
    # spanning two shifts: one override shift over the handoff
    ([Override(ZED, utc(2026, 11, 8, 12), utc(2026, 11, 10, 12))],
     [(ANA, MON2, utc(2026, 11, 8, 12), False), (ZED, utc(2026, 11, 8, 12), utc(2026, 11, 10, 12), True),
      (BEN, utc(2026, 11, 10, 12), MON16, False), (CARA, MON16, MON23, False)]),
    # overlapping: the later start wins for its span
    ([Override(ZED, utc(2026, 11, 10), utc(2026, 11, 12)), Override(CARA, utc(2026, 11, 11), utc(2026, 11, 11, 6))],
     [(ANA, MON2, MON9, False), (BEN, MON9, utc(2026, 11, 10), False), (ZED, utc(2026, 11, 10), utc(2026, 11, 11), True),
      (CARA, utc(2026, 11, 11), utc(2026, 11, 11, 6), True), (ZED, utc(2026, 11, 11, 6), utc(2026, 11, 12), True),
      (BEN, utc(2026, 11, 12), MON16, False), (CARA, MON16, MON23, False)]),
    # ...whatever the order they are listed in
    ([Override(CARA, utc(2026, 11, 11), utc(2026, 11, 11, 6)), Override(ZED, utc(2026, 11, 10), utc(2026, 11, 12))],
     [(ANA, MON2, MON9, False), (BEN, MON9, utc(2026, 11, 10), False), (ZED, utc(2026, 11, 10), utc(2026, 11, 11), True),
      (CARA, utc(2026, 11, 11), utc(2026, 11, 11, 6), True), (ZED, utc(2026, 11, 11, 6), utc(2026, 11, 12), True),
      (BEN, utc(2026, 11, 12), MON16, False), (CARA, MON16, MON23, False)]),
    # equal starts: the later listed wins
    ([Override(ZED, utc(2026, 11, 10), utc(2026, 11, 12)), Override(CARA, utc(2026, 11, 10), utc(2026, 11, 11))],
     [(ANA, MON2, MON9, False), (BEN, MON9, utc(2026, 11, 10), False), (CARA, utc(2026, 11, 10), utc(2026, 11, 11), True),
      (ZED, utc(2026, 11, 11), utc(2026, 11, 12), True), (BEN, utc(2026, 11, 12), MON16, False),
      (CARA, MON16, MON23, False)]),
    # before the first handoff an override still puts someone on call
    ([Override(ZED, utc(2026, 11, 1, 20), utc(2026, 11, 2, 10))],
     [(ZED, utc(2026, 11, 1, 20), utc(2026, 11, 2, 10), True), (ANA, utc(2026, 11, 2, 10), MON9, False),
      (BEN, MON9, MON16, False), (CARA, MON16, MON23, False)]),
    # empty and backwards overrides change nothing
    ([Override(ZED, utc(2026, 11, 4), utc(2026, 11, 4)), Override(ZED, utc(2026, 11, 5), utc(2026, 11, 4))],
     [(ANA, MON2, MON9, False), (BEN, MON9, MON16, False), (CARA, MON16, MON23, False)]),
])
def test_overrides_cut_into_shifts(overrides, expected):
    assert shifts(overrides, utc(2026, 11, 1), utc(2026, 11, 17)) == expected


def test_shifts_are_whole_whatever_the_range():
    overrides = [Override(ZED, utc(2026, 11, 4, 18), utc(2026, 11, 5, 8))]
    assert shifts(overrides, utc(2026, 11, 6), utc(2026, 11, 6, 1)) == [(ANA, utc(2026, 11, 5, 8), MON9, False)]
    assert shifts(overrides, utc(2026, 11, 4, 20), utc(2026, 11, 4, 21)) == [
        (ZED, utc(2026, 11, 4, 18), utc(2026, 11, 5, 8), True)]
    assert shifts([], MON9, MON9) == [] and shifts([], MON16, MON9) == []
    assert shifts([], utc(2026, 10, 1), utc(2026, 11, 2, 9)) == []      # before the first handoff: nobody


@pytest.mark.parametrize("instant, overrides, expected", [
    # an override covering `at`: the override's span, even across the handoff under it
    (utc(2026, 11, 9, 10), [Override(ZED, utc(2026, 11, 8, 12), utc(2026, 11, 10, 12))],
     (ZED, utc(2026, 11, 8, 12), utc(2026, 11, 10, 12), True)),
    # the regular person until the override takes over
    (utc(2026, 11, 3), [Override(ZED, utc(2026, 11, 8, 12), utc(2026, 11, 10, 12))],
     (ANA, MON2, utc(2026, 11, 8, 12), False)),
    # someone who stays on past their handoff: until the override ends
    (utc(2026, 11, 3), [Override(ANA, MON9, utc(2026, 11, 9, 12))], (ANA, MON2, utc(2026, 11, 9, 12), False)),
    (utc(2026, 11, 9, 10), [Override(ANA, MON9, utc(2026, 11, 9, 12))], (ANA, MON2, utc(2026, 11, 9, 12), True)),
    # an override for the person already on call changes nothing about "until when"
    (utc(2026, 11, 3), [Override(ANA, utc(2026, 11, 4), utc(2026, 11, 5))], (ANA, MON2, MON9, False)),
    # before the first handoff
    (utc(2026, 11, 1, 22), [Override(ZED, utc(2026, 11, 1, 20), utc(2026, 11, 2, 10))],
     (ZED, utc(2026, 11, 1, 20), utc(2026, 11, 2, 10), True)),
    (utc(2026, 11, 1, 19), [Override(ZED, utc(2026, 11, 1, 20), utc(2026, 11, 2, 10))], None),
    # at the override's end the regular person is back
    (utc(2026, 11, 10, 12), [Override(ZED, utc(2026, 11, 8, 12), utc(2026, 11, 10, 12))],
     (BEN, utc(2026, 11, 10, 12), MON16, False)),
])
def test_oncall_at_with_overrides(instant, overrides, expected):
    assert at(EXAMPLE, instant, overrides) == expected


def test_a_one_person_rotation_still_hands_off_weekly():
    solo = RotationSpec("solo", "Europe/London", Handoff(0, time(9)), date(2026, 11, 2), (ANA,))
    assert at(solo, utc(2026, 11, 20)) == (ANA, MON16, MON23, False)
    # an override joins the regular weeks either side of it, but weeks never join each other
    assert at(solo, utc(2026, 11, 20), [Override(ANA, MON16, MON23)]) == (ANA, MON9, utc(2026, 11, 30, 9), True)


def test_results_are_utc_whatever_zone_the_input_uses():
    paris = datetime(2026, 11, 9, 11, 30, tzinfo=ZoneInfo("Europe/Paris"))  # 10:30 UTC
    shift = oncall_at(EXAMPLE, [Override(ZED, datetime(2026, 11, 9, 11, tzinfo=ZoneInfo("Europe/Paris")),
                                         utc(2026, 11, 9, 12))], paris)
    assert shift == Shift(ZED, utc(2026, 11, 9, 10), utc(2026, 11, 9, 12), True)
    assert shift.start.tzinfo == UTC and shift.end.tzinfo == UTC


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        oncall_at(EXAMPLE, [], datetime(2026, 11, 3))
    with pytest.raises(ValueError, match="timezone-aware"):
        shifts_between(EXAMPLE, [Override(ZED, datetime(2026, 11, 3), utc(2026, 11, 4))], MON2, MON9)


# --- validation and parsing ----------------------------------------------------------------------

@pytest.mark.parametrize("spec, errors", [
    (EXAMPLE, []),
    (RotationSpec("r", "Europe/London", Handoff(0, time(9)), date(2026, 11, 2), ()),
     ["members: a rotation needs at least one member"]),
    (RotationSpec("r", "Mars/Olympus", Handoff(0, time(9)), date(2026, 11, 2), (ANA,)),
     ["timezone: unknown time zone 'Mars/Olympus'; expected an IANA name like 'Europe/London'"]),
    (RotationSpec(" ", "Europe/London", Handoff(7, time(9)), date(2026, 11, 2), (ANA, "ben")),
     ["name: a rotation needs a name", "handoff.day: 7 is not a weekday; expected mon ... sun",
      "members[1]: 'ben' is not a user's e-mail"]),
])
def test_validate(spec, errors):
    assert validate(spec) == errors


@pytest.mark.parametrize("override, errors", [
    (Override(ZED, MON2, MON9), []),
    (Override(ZED, MON9, MON2), ["end: 2026-11-02T09:00:00+00:00 must be after start 2026-11-09T09:00:00+00:00"]),
    (Override(ZED, MON2, MON2), ["end: 2026-11-02T09:00:00+00:00 must be after start 2026-11-02T09:00:00+00:00"]),
    (Override("", datetime(2026, 11, 2), MON9),
     ["user: an override needs the user who covers",
      "start: needs a date, time and UTC offset, like 2026-11-02T09:00:00+00:00"]),
])
def test_validate_override(override, errors):
    assert validate_override(override) == errors


@pytest.mark.parametrize("value, expected", [
    ({"day": "mon", "time": "09:00"}, Handoff(0, time(9))),
    ({"day": "Sunday", "time": "01:30"}, Handoff(6, time(1, 30))),
])
def test_parse_handoff(value, expected):
    assert parse_handoff(value) == expected


@pytest.mark.parametrize("value, message", [
    ("mon 09:00", "expected a mapping"),
    ({"day": "mon"}, "time: missing"),
    ({"day": "someday", "time": "09:00"}, "day: unknown day 'someday'"),
    ({"day": "mon", "time": 540}, 'time: invalid time 540 \\(put the time in quotes'),
    ({"day": "mon", "time": "09:00", "every": "week"}, "every: unknown key"),
])
def test_parse_handoff_errors(value, message):
    with pytest.raises(ValueError, match=message):
        parse_handoff(value)


# --- properties ---------------------------------------------------------------------------------

ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"]
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def rotations(draw):
    clock = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 59])))
    members = tuple(draw(st.lists(st.sampled_from([ANA, BEN, CARA]), min_size=1, max_size=4)))
    start = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 300)))
    return RotationSpec("p", draw(st.sampled_from(ZONES)), Handoff(draw(st.integers(0, 6)), clock), start, members)


minutes = st.integers(min_value=0, max_value=60 * 24 * 420)
overrides = st.lists(st.builds(lambda user, begin, length: Override(user, BASE + timedelta(minutes=begin),
                                                                    BASE + timedelta(minutes=begin + length)),
                               st.sampled_from([ANA, BEN, ZED]), minutes, st.integers(-60, 60 * 24 * 12)),
                     max_size=5)


@settings(max_examples=200, deadline=None)
@given(spec=rotations(), extra=overrides, begin=minutes, length=st.integers(1, 60 * 24 * 60),
       probes=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=8))
def test_shifts_tile_time_and_agree_with_oncall_at(spec, extra, begin, length, probes):
    start = BASE + timedelta(minutes=begin)
    end = start + timedelta(minutes=length)
    found = shifts_between(spec, extra, start, end)

    for shift in found:
        assert shift.start < shift.end and shift.start < end and shift.end > start
        assert shift.start.tzinfo == UTC and shift.end.tzinfo == UTC
    for before, after in zip(found, found[1:]):
        assert before.end <= after.start  # in order, no overlaps

    first = handoffs_between(spec, BASE - timedelta(days=400), BASE + timedelta(days=800))[0]
    covered = [s for s in found if s.end > max(start, first)]
    if end > first:  # from the first handoff on, no gaps
        assert covered[0].start <= max(start, first) and covered[-1].end >= end
        for before, after in zip(covered, covered[1:]):
            assert before.end == after.start

    def inside(fraction):  # float rounding must not reach `end`
        return min(start + (end - start) * fraction, end - timedelta(microseconds=1))

    inner_start = inside(probes[0])
    inner = [s for s in found if s.end > inner_start and s.start < end]
    assert shifts_between(spec, extra, inner_start, end) == inner  # the same shifts, whatever the range

    for fraction in probes:
        instant = inside(fraction)
        piece = next((s for s in found if s.start <= instant < s.end), None)
        shift = oncall_at(spec, extra, instant)
        if piece is None:
            assert shift is None
        else:
            assert (shift.user, shift.override) == (piece.user, piece.override)
            assert shift.start <= piece.start <= instant < piece.end <= shift.end


@settings(max_examples=200, deadline=None)
@given(spec=rotations(), begin=minutes)
def test_handoffs_are_at_the_local_time_or_the_end_of_a_gap(spec, begin):
    zone = ZoneInfo(spec.timezone)
    start = BASE + timedelta(minutes=begin)
    found = handoffs_between(spec, start, start + timedelta(days=60))
    assume(found)
    for previous, handoff in zip(found, found[1:]):
        assert timedelta(days=6) < handoff - previous < timedelta(days=8)
    for handoff in found:
        local = handoff.astimezone(zone)
        wall = datetime.combine(local.date(), spec.handoff.at)
        exists = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
        if exists:
            assert (local.weekday(), local.time(), local.fold) == (spec.handoff.weekday, spec.handoff.at, 0)
        else:  # the first instant after the gap: a second earlier the wall clock read before the handoff
            assert (handoff - timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None) < wall <= \
                local.replace(tzinfo=None)
