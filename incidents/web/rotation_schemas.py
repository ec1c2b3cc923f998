"""Request and response shapes of the rotations API (they also make the OpenAPI document)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from apiflask import Schema
from apiflask.fields import Boolean, DateTime, Integer, List, Nested, String
from apiflask.validators import Length
from marshmallow import ValidationError, validates_schema

MAX_RANGE = timedelta(days=366)
YEARS = (1900, 9000)  # far enough for any schedule; keeps weekly arithmetic clear of datetime's limits
EXAMPLE = "2026-11-23T09:00:00Z"
# In a query string an unencoded "+01:00" arrives as " 01:00": put the plus back.
_LOST_PLUS = re.compile(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


class Instant(String):
    """An ISO 8601 date and time with its UTC offset ("Z", "+01:00"); returned in UTC.

    A time without an offset is refused: it would mean a different instant on every machine.
    """

    def __init__(self, **kwargs):
        metadata = {"format": "date-time", "example": EXAMPLE, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        text = _LOST_PLUS.sub(r"\1+\2", super()._deserialize(value, attr, data, **kwargs).strip())
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"{value!r} is not an ISO 8601 date and time; expected one like "
                                  f"{EXAMPLE}") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValidationError(f"{value!r} has no UTC offset; add one, like {EXAMPLE} or "
                                  "2026-11-23T09:00:00+01:00")
        if not YEARS[0] <= parsed.year <= YEARS[1]:
            raise ValidationError(f"{value!r} is outside the years {YEARS[0]} to {YEARS[1]}")
        return parsed.astimezone(timezone.utc)


class PersonOut(Schema):
    email = String(required=True)
    name = String(required=True)


class HandoffOut(Schema):
    day = String(required=True, metadata={"description": "mon ... sun"})
    time = String(required=True, metadata={"description": "HH:MM, local to the rotation's timezone"})


class RotationOut(Schema):
    name = String(required=True)
    timezone = String(required=True, metadata={"description": "IANA zone of the handoff time"})
    handoff = Nested(HandoffOut, required=True)
    start = String(required=True, metadata={"description": "date of the first shift (on or after)"})
    members = List(Nested(PersonOut), required=True, metadata={"description": "in rotation order"})


class RotationList(Schema):
    items = List(Nested(RotationOut), required=True)


class OncallQuery(Schema):
    at = Instant(metadata={"description": "the instant to ask about; default now"})


class OncallOut(Schema):
    rotation = String(required=True)
    at = DateTime(required=True)
    user = Nested(PersonOut, allow_none=True, required=True,
                  metadata={"description": "null when nobody is on call (before the first shift)"})
    since = DateTime(allow_none=True, required=True)
    until = DateTime(allow_none=True, required=True,
                     metadata={"description": "when this person's cover ends (a handoff or an "
                                              "override's end)"})
    override = Boolean(required=True, metadata={"description": "covering by an override"})


class RangeQuery(Schema):
    from_ = Instant(required=True, data_key="from")
    to = Instant(required=True)

    @validates_schema
    def _bounded(self, data, **kwargs):
        if "from_" not in data or "to" not in data:
            return
        if data["to"] <= data["from_"]:
            raise ValidationError("must be after from", "to")
        if data["to"] - data["from_"] > MAX_RANGE:
            raise ValidationError(f"the range may span at most {MAX_RANGE.days} days", "to")


class ShiftOut(Schema):
    user = Nested(PersonOut, required=True)
    start = DateTime(required=True)
    end = DateTime(required=True)
    override = Boolean(required=True)


class ShiftList(Schema):
    rotation = String(required=True)
    items = List(Nested(ShiftOut), required=True, metadata={
        "description": "shifts meeting [from, to), whole (not cut to the range), in time order"})


class OverrideIn(Schema):
    user = String(required=True, validate=Length(3, 254), metadata={"description": "user e-mail"})
    start = Instant(required=True)
    end = Instant(required=True)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise ValidationError("must be after start", "end")


class OverrideOut(Schema):
    id = Integer(required=True)
    user = Nested(PersonOut, required=True)
    start = DateTime(required=True)
    end = DateTime(required=True)
    created_by = String(required=True)
    created_at = DateTime(required=True)


class OverrideList(Schema):
    items = List(Nested(OverrideOut), required=True)


class FeedQuery(Schema):
    key = String(validate=Length(1, 200), metadata={
        "description": "an API key with read scope, for calendar apps that cannot send headers"})
