"""Rotations against a brute-force model that shares none of the module's arithmetic: handoffs
found by walking the wall clock forward until it reads the handoff time (so a time in a spring-
forward gap lands where the gap ends and an autumn time on its first occurrence), and an override
winning by latest start, then latest listed. tests/test_rotation.py holds the table tests."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from incidents.domain.rotation import Handoff, Override, RotationSpec, oncall_at, shifts_between

UTC = timezone.utc
STEP, MINUTE, TICK = timedelta(minutes=15), timedelta(minutes=1), timedelta(microseconds=1)
BASE = datetime(2026, 1, 1, tzinfo=UTC)
# Zones with 1-hour, 30-minute (Lord Howe) and southern-hemisphere changes, and odd offsets.
ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
         "Pacific/Chatham", "Asia/Kolkata"]
# Handoffs on the day and at the wall time of a change: in the gap, or in the hour that repeats.
TRICKY = [("Europe/London", 6, time(1, 30)), ("Europe/London", 6, time(1, 0)),
          ("America/New_York", 6, time(2, 30)), ("America/New_York", 6, time(1, 30)),
          ("Australia/Lord_Howe", 6, time(2, 15)), ("Australia/Lord_Howe", 6, time(1, 45)),
          ("America/Santiago", 6, time(0, 30)), ("America/Santiago", 5, time(23, 30)),
          ("Pacific/Chatham", 6, time(3, 0))]


def first_reading(zone: ZoneInfo, wall: datetime) -> datetime:
    """The first instant at which a clock in `zone` reads `wall` or later."""
    instant = wall.replace(tzinfo=UTC) - timedelta(hours=15)  # no zone is more than 14 hours ahead
    while instant.astimezone(zone).replace(tzinfo=None) < wall:
        instant += STEP
    instant -= STEP
    while instant.astimezone(zone).replace(tzinfo=None) < wall:
        instant += MINUTE
    return instant


class Model:
    def __init__(self, spec: RotationSpec, overrides: list[Override]):
        self.spec, self.overrides = spec, overrides
        zone = ZoneInfo(spec.timezone)
        day = spec.start
        while day.weekday() != spec.handoff.weekday:
            day += timedelta(days=1)
        self.handoffs = [first_reading(zone, datetime.combine(day + timedelta(weeks=w), spec.handoff.at))
                         for w in range(75)]

    def owner(self, at: datetime) -> tuple[str | None, bool]:
        covering = [(o.start, i, o.user) for i, o in enumerate(self.overrides) if o.start <= at < o.end]
        if covering:
            return max(covering)[2], True
        weeks = [w for w, handoff in enumerate(self.handoffs) if handoff <= at]
        if not weeks:
            return None, False
        return self.spec.members[weeks[-1] % len(self.spec.members)], False


    def around_changes(self) -> list[datetime]:
        """The two handoffs either side of each change of UTC offset: where DST bugs show."""
        zone = ZoneInfo(self.spec.timezone)
        pairs = zip(self.handoffs, self.handoffs[1:])
        return [h for a, b in pairs if a.astimezone(zone).utcoffset() != b.astimezone(zone).utcoffset()
                for h in (a, b)]


@st.composite
def rotations(draw):
    if draw(st.booleans()):
        zone, weekday, clock = draw(st.sampled_from(TRICKY))
    else:
        zone, weekday = draw(st.sampled_from(ZONES)), draw(st.integers(0, 6))
        clock = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 1, 30, 59])))
    return RotationSpec("model", zone, Handoff(weekday, clock),
                        date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 90))),
                        tuple(draw(st.lists(st.sampled_from(["ana", "ben", "cara"]), min_size=1, max_size=4))))


minutes = st.integers(0, 60 * 24 * 400)
overrides = st.lists(st.builds(lambda user, begin, length: Override(user, BASE + timedelta(minutes=begin),
                                                                    BASE + timedelta(minutes=begin + length)),
                               st.sampled_from(["ana", "zed"]), minutes, st.integers(1, 60 * 24 * 10)),
                     max_size=4)


@settings(max_examples=150, deadline=None)
@given(spec=rotations(), extra=overrides, offsets=st.lists(minutes, min_size=1, max_size=6),
       near=st.lists(st.tuples(st.integers(0, 60), st.sampled_from([-TICK, timedelta(0), TICK])), max_size=4))
def test_oncall_at_agrees_with_the_model(spec, extra, offsets, near):
    model = Model(spec, extra)
    instants = [BASE + timedelta(minutes=m) for m in offsets]
    instants += [model.handoffs[week] + nudge for week, nudge in near]  # right at handoffs
    instants += [handoff + nudge for handoff in model.around_changes() for nudge in (-TICK, timedelta(0))]
    for at in instants:
        shift = oncall_at(spec, extra, at)
        expected = model.owner(at)
        assert ((shift.user, shift.override) if shift else (None, False)) == expected, at
        if shift is not None:
            assert shift.start <= at < shift.end
            assert model.owner(shift.start)[0] == model.owner(shift.end - TICK)[0] == shift.user
            pieces = shifts_between(spec, extra, at, at + TICK)
            assert [(p.user, p.override) for p in pieces] == [expected]


@pytest.mark.parametrize("zone, wall, expected", [
    ("Europe/London", datetime(2026, 3, 29, 1, 30), datetime(2026, 3, 29, 1, tzinfo=UTC)),   # the gap
    ("Europe/London", datetime(2026, 10, 25, 1, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # first of two
    ("America/New_York", datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 7, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
])
def test_the_model_reads_clocks_the_way_the_rules_say(zone, wall, expected):
    assert first_reading(ZoneInfo(zone), wall) == expected
