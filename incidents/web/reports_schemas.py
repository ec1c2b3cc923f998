"""The SLA report's JSON shape for the OpenAPI document (and for dumping the report: a field not
described here cannot reach a client). Times are ISO 8601 strings with their UTC offset, as
reports_format writes them; durations are seconds."""
from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Float, Integer, List, Nested, String
from apiflask.validators import OneOf, Regexp

OUTCOMES = ("met", "breached", "pending")


def _time(description: str, *, none: bool = False) -> String:
    return String(required=True, allow_none=none, metadata={"format": "date-time", "description": description})


def _seconds(description: str, *, none: bool = False) -> Float:
    return Float(required=True, allow_none=none, metadata={"description": description})


class ClassFiguresOut(Schema):
    severity_class = Integer(required=True)
    opened = Integer(required=True, metadata={"description": "incidents opened in the month"})
    met = Integer(required=True, metadata={"description": "responded to by the deadline"})
    breached = Integer(required=True, metadata={"description": "responded to late, or not at all by a deadline now past"})
    pending = Integer(required=True, metadata={"description": "no response yet, deadline still ahead"})
    share_met = Float(required=True, allow_none=True, metadata={"description": "percent of met + breached; null if none"})
    mtta_mean = _seconds("mean time to the first response", none=True)
    mtta_p90 = _seconds("90th percentile time to the first response", none=True)
    mttr_mean = _seconds("mean time to resolve", none=True)
    mttr_p90 = _seconds("90th percentile time to resolve", none=True)
    paused_incidents = Integer(required=True, metadata={"description": "incidents whose SLA clock was paused"})
    pauses = Integer(required=True, metadata={"description": "SLA clock pauses of those incidents"})
    paused_seconds = _seconds("all those pauses together (a pause still open counts up to now)")


class BreachOut(Schema):
    incident_id = Integer(required=True)
    title = String(required=True)
    severity_class = Integer(required=True)
    deadline = _time("the response deadline")
    responded_at = _time("the first response; null if none", none=True)
    overrun_seconds = _seconds("how late the response was; null while there is none", none=True)
    pauses = Integer(required=True)
    paused_seconds = _seconds("time the SLA clock was paused")


class UptimeOut(Schema):
    service = String(required=True)
    downtime = _seconds("class 1 outage time in the month, overlaps counted once")
    uptime = Float(required=True, metadata={"description": "percent"})
    target = Float(required=True, metadata={"description": "percent"})
    met = Boolean(required=True)


class IncidentOutcomeOut(Schema):
    incident_id = Integer(required=True)
    title = String(required=True)
    severity_class = Integer(required=True)
    opened_at = _time("when it opened")
    deadline = _time("the response deadline")
    responded_at = _time("the first response; null if none", none=True)
    outcome = String(required=True, validate=OneOf(OUTCOMES))
    pauses = Integer(required=True)
    paused_seconds = _seconds("time the SLA clock was paused")


class CustomerReportOut(Schema):
    customer = String(required=True, metadata={"description": "the customer's slug"})
    name = String(required=True)
    uptime_target = Float(required=True, metadata={"description": "percent"})
    classes = List(Nested(ClassFiguresOut), required=True, metadata={"description": "classes 1, 2 and 3"})
    breaches = List(Nested(BreachOut), required=True, metadata={"description": "oldest first"})
    uptime = List(Nested(UptimeOut), required=True, metadata={"description": "per service, by name"})
    incidents = List(Nested(IncidentOutcomeOut), required=True, allow_none=True, metadata={
        "description": "every incident of the month, oldest first, in one customer's report; "
                       "null in the all-customers report"})


class SlaReportOut(Schema):
    month = String(required=True, validate=Regexp(r"^\d{4}-\d{2}$"), metadata={"description": "YYYY-MM (UTC)"})
    customers = List(Nested(CustomerReportOut), required=True)
    total = List(Nested(ClassFiguresOut), required=True, metadata={
        "description": "every customer together, per class"})
