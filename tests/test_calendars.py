"""iCalendar feeds of shifts: one VEVENT per shift in UTC, UIDs stable across requests and
ranges, a user's feed mixing rotations, and output that calendar parsers read back."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from icalendar import Calendar

from incidents.calendars import shift_uid, shifts_to_ical
from incidents.domain.rotation import Handoff, Override, RotationSpec, Shift, shifts_between

UTC = timezone.utc
ANA, BEN, CARA, ZED = "ana@ops.example", "ben@ops.example", "cara@ops.example", "zed@ops.example"
EXAMPLE = RotationSpec("out-of-hours", "Europe/London", Handoff(0, time(9)), date(2026, 11, 2), (ANA, BEN, CARA))
COVER = [Override(ZED, datetime(2026, 11, 8, 12, tzinfo=UTC), datetime(2026, 11, 10, 12, tzinfo=UTC))]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def events(feed: bytes) -> list:
    return [component for component in Calendar.from_ical(feed).walk("VEVENT")]


def feed(start=utc(2026, 11, 1), end=utc(2026, 11, 23), overrides=COVER, **options) -> bytes:
    shifts = shifts_between(EXAMPLE, overrides, start, end)
    return shifts_to_ical("out-of-hours", shifts, uid_prefix="rotation-out-of-hours", **options)


def test_one_event_per_shift_in_utc_with_the_rotation_in_the_summary():
    found = events(feed())
    assert [(str(e["SUMMARY"]), e.decoded("DTSTART"), e.decoded("DTEND")) for e in found] == [
        ("On call: ana@ops.example (out-of-hours)", utc(2026, 11, 2, 9), utc(2026, 11, 8, 12)),
        ("On call: zed@ops.example (out-of-hours, override)", utc(2026, 11, 8, 12), utc(2026, 11, 10, 12)),
        ("On call: ben@ops.example (out-of-hours)", utc(2026, 11, 10, 12), utc(2026, 11, 16, 9)),
        ("On call: cara@ops.example (out-of-hours)", utc(2026, 11, 16, 9), utc(2026, 11, 23, 9)),
    ]
    raw = feed().decode()
    assert "DTSTART:20261102T090000Z\r\n" in raw and "VTIMEZONE" not in raw
    assert len({str(e["UID"]) for e in found}) == 4


def test_the_calendar_carries_its_name_and_a_refresh_hint():
    calendar = Calendar.from_ical(feed())
    assert str(calendar["X-WR-CALNAME"]) == "out-of-hours" and str(calendar["NAME"]) == "out-of-hours"
    assert (str(calendar["VERSION"]), str(calendar["METHOD"])) == ("2.0", "PUBLISH")
    raw = feed().decode()
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in raw and "X-PUBLISHED-TTL:PT1H\r\n" in raw


def test_uids_are_stable_across_requests_and_ranges():
    whole = {e.decoded("DTSTART"): str(e["UID"]) for e in events(feed())}
    again = {e.decoded("DTSTART"): str(e["UID"]) for e in events(feed(utc(2026, 11, 9), utc(2026, 11, 12)))}
    assert again and all(whole[start] == uid for start, uid in again.items())
    assert feed() == feed()  # byte for byte, without a stamp


def test_a_changed_shift_gets_a_new_uid_and_the_untouched_ones_keep_theirs():
    before = {str(e["UID"]) for e in events(feed(overrides=[]))}
    after = {str(e["UID"]) for e in events(feed())}
    assert len(before & after) == 1  # only Cara's week is untouched by the override


def test_a_users_feed_labels_each_shift_with_its_rotation():
    week = Shift(ANA, utc(2026, 11, 2, 9), utc(2026, 11, 9, 9))
    found = events(shifts_to_ical(ANA, [("triage", week), ("out-of-hours", week)], uid_prefix="user-1"))
    assert sorted(str(e["SUMMARY"]) for e in found) == [
        "On call: ana@ops.example (out-of-hours)", "On call: ana@ops.example (triage)"]
    assert len({str(e["UID"]) for e in found}) == 2  # the same hours in two rotations: two events


def test_uid_depends_on_feed_rotation_and_shift():
    week = Shift(ANA, utc(2026, 11, 2, 9), utc(2026, 11, 9, 9))
    uid = shift_uid("rotation-1", "out-of-hours", week)
    assert uid.startswith("rotation-1-") and uid == shift_uid("rotation-1", "out-of-hours", week)
    assert uid != shift_uid("rotation-2", "out-of-hours", week)
    assert uid != shift_uid("rotation-1", "triage", week)
    assert uid != shift_uid("rotation-1", "out-of-hours", Shift(ANA, week.start, week.end, True))
    assert uid != shift_uid("rotation-1", "out-of-hours", Shift(BEN, week.start, week.end))
    assert uid == shift_uid("rotation-1", "out-of-hours",  # the same instants in another zone
                            Shift(ANA, week.start.astimezone(timezone(timedelta(hours=2))), week.end))


def test_stamp_is_the_callers_clock_when_given():
    stamp = utc(2026, 11, 23, 10, 15)
    found = events(feed(stamp=stamp))
    assert {e.decoded("DTSTAMP") for e in found} == {stamp}
    assert [e.decoded("DTSTAMP") for e in events(feed())] == [e.decoded("DTSTART") for e in events(feed())]


def test_an_empty_feed_is_still_a_calendar():
    calendar = Calendar.from_ical(shifts_to_ical("nobody", [], uid_prefix="rotation-9"))
    assert calendar.walk("VEVENT") == [] and str(calendar["PRODID"]).startswith("-//Vigil//")


def test_naive_shift_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        shifts_to_ical("x", [Shift(ANA, datetime(2026, 11, 2, 9), utc(2026, 11, 9, 9))], uid_prefix="r")
