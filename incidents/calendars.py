"""On-call shifts as an iCalendar feed (RFC 5545), for a rotation's or a user's calendar app.

Pure apart from the `icalendar` library. Times are written in UTC, so no VTIMEZONE is needed and a
client shows them in its own zone. A shift's UID is derived from what the shift is (feed, rotation,
person, start, end, override), so the same shift keeps its UID on every request and a shift that
changes (an override cuts it) becomes a new event while the old one leaves the feed.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping, Union

from icalendar import Calendar, Event, vDuration

from incidents.domain.rotation import Shift

PRODID = "-//Vigil//On-call shifts//EN"
REFRESH = timedelta(hours=1)  # how often subscribed clients should fetch the feed again

# A bare Shift is labelled with the calendar's name (a rotation's own feed); a user's feed, which
# mixes rotations, passes (rotation name, Shift) pairs.
LabelledShift = Union[Shift, tuple[str, Shift]]


def shifts_to_ical(calendar_name: str, shifts: Iterable[LabelledShift], *, uid_prefix: str,
                   stamp: datetime | None = None, names: Mapping[str, str] | None = None) -> bytes:
    """The feed as bytes, one VEVENT per shift in time order.

    `stamp` is the DTSTAMP (when the feed was made, from the caller's clock); without it each
    event is stamped with its own start, so the same shifts always give the same bytes. `names`
    maps e-mails to the names the summaries show (the e-mail where a name is missing).
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", calendar_name)
    calendar.add("x-wr-calname", calendar_name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    labelled = [_labelled(calendar_name, item) for item in shifts]
    for label, shift in sorted(labelled, key=lambda pair: (pair[1].start, pair[1].end, pair[0])):
        calendar.add_component(_event(label, shift, uid_prefix, stamp, names or {}))
    return calendar.to_ical()


def shift_uid(uid_prefix: str, label: str, shift: Shift) -> str:
    """Stable: the same shift in the same feed always has the same UID."""
    key = "|".join((label, shift.user, _utc(shift.start).isoformat(), _utc(shift.end).isoformat(),
                    "override" if shift.override else "regular"))
    return f"{uid_prefix}-{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def summary(label: str, shift: Shift, names: Mapping[str, str] | None = None) -> str:
    """E.g. "On call: Ana Silva (out-of-hours)", "... (out-of-hours, override)"."""
    who = (names or {}).get(shift.user) or shift.user
    return f"On call: {who} ({label}{', override' if shift.override else ''})"


def _event(label: str, shift: Shift, uid_prefix: str, stamp: datetime | None,
           names: Mapping[str, str]) -> Event:
    event = Event()
    event.add("uid", shift_uid(uid_prefix, label, shift))
    event.add("dtstamp", _utc(stamp or shift.start))
    event.add("dtstart", _utc(shift.start))
    event.add("dtend", _utc(shift.end))
    event.add("summary", summary(label, shift, names))
    event.add("categories", ["on-call", label])
    event.add("transp", "OPAQUE")
    return event


def _labelled(calendar_name: str, item: LabelledShift) -> tuple[str, Shift]:
    if isinstance(item, Shift):
        return calendar_name, item
    label, shift = item
    return label, shift


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"shift times must be timezone-aware, got {value!r}")
    return value.astimezone(timezone.utc)
