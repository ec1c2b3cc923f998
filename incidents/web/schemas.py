"""Request and response shapes of the JSON API (they also make the OpenAPI document)."""
from apiflask import Schema
from apiflask.fields import Boolean, DateTime, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from incidents.domain.enums import Scope, Status
from incidents.services import listing


class ClassificationOut(Schema):
    rule = String(required=True)
    reason = String(required=True)


class IncidentOut(Schema):
    id = Integer(required=True)
    number = Integer(required=True, metadata={"description": "The number people say: #42"})
    title = String(required=True)
    description = String(required=True)
    status = String(required=True, validate=OneOf([s.value for s in Status]))
    severity_class = Integer(required=True)
    category = String(required=True)
    customer = String(required=True, allow_none=True, metadata={"description": "customer slug"})
    service = String(required=True, allow_none=True)
    origin = String(required=True, metadata={"description": "alert or report"})
    assignee = String(required=True, allow_none=True, metadata={"description": "assignee e-mail"})
    opened_at = DateTime(required=True)
    response_due_at = DateTime(required=True)
    acknowledged_at = DateTime(required=True, allow_none=True)
    responded_at = DateTime(required=True, allow_none=True, metadata={"description": "the first response by a person; stops the SLA clock"})
    breached_at = DateTime(required=True, allow_none=True, metadata={"description": "when the response deadline passed without a response"})
    acknowledged_by = String(required=True, allow_none=True)
    resolved_at = DateTime(required=True, allow_none=True)
    resolved_by = String(required=True, allow_none=True)
    dedup_key = String(required=True, allow_none=True)
    alert_count = Integer(required=True)
    source_severity = String(required=True, allow_none=True)
    classification = Nested(ClassificationOut, required=True)


class IncidentPage(Schema):
    items = List(Nested(IncidentOut), required=True)
    next = String(required=True, allow_none=True, metadata={"description": "cursor for the next page, or null"})


class IncidentQuery(Schema):
    status = String(validate=OneOf(listing.STATUSES), metadata={
        "description": "triggered, acknowledged, resolved, or open (triggered or acknowledged)"})
    severity_class = Integer(validate=Range(1, 3))
    customer = String(validate=Length(1, 64), metadata={"description": "customer slug"})
    service = String(validate=Length(1, 100), metadata={"description": "service name"})
    assignee = String(validate=Length(1, 254), metadata={
        "description": f"the assignee's e-mail (any case), or `{listing.UNASSIGNED}` for unassigned incidents"})
    text = String(validate=Length(1, listing.MAX_TEXT), metadata={
        "description": "a part of the title, any case, matched literally (% and _ are not wildcards); "
                       "surrounding spaces are ignored; needs 3 letters or digits in a row"})
    cursor = String(validate=Length(1, 64), metadata={"description": "`next` of the previous page"})
    limit = Integer(load_default=50, validate=Range(1, 200))


class ReportIn(Schema):
    title = String(required=True, validate=Length(1, 500))
    description = String(load_default="", validate=Length(0, 20_000))
    customer = String(required=True, validate=Length(1, 64), metadata={"description": "customer slug"})
    service = String(validate=Length(1, 100))
    category = String(validate=Length(1, 64))


class EventOut(Schema):
    id = Integer(required=True)
    at = DateTime(required=True)
    kind = String(required=True)
    actor = String(required=True)
    source = String(required=True)
    message = String(required=True)
    data = Dict(required=True)


class TimelineOut(Schema):
    items = List(Nested(EventOut), required=True)


class ResolveIn(Schema):
    note = String(validate=Length(0, 2000))


class AssignIn(Schema):
    assignee = String(required=True, validate=Length(3, 254), metadata={"description": "user e-mail"})


class CommentIn(Schema):
    text = String(required=True, validate=Length(1, 10_000))


class ReclassifyIn(Schema):
    severity_class = Integer(required=True, validate=Range(1, 3))
    reason = String(required=True, validate=Length(1, 2000))
    category = String(validate=Length(1, 64))


class ApiKeyIn(Schema):
    name = String(required=True, validate=Length(1, 100))
    scope = String(required=True, validate=OneOf([s.value for s in Scope]))
    customer = String(validate=Length(1, 64), metadata={
        "description": "a customer's slug: the key reads only that customer's incidents and reports "
                       "(scope must be read)"})


class ApiKeyOut(Schema):
    id = Integer(required=True)
    name = String(required=True)
    scope = String(required=True)
    hint = String(required=True, metadata={"description": "last four characters of the key"})
    created_at = DateTime(required=True)
    last_used_at = DateTime(required=True, allow_none=True)
    revoked = Boolean(required=True)
    customer = String(required=True, allow_none=True, metadata={"description": "the one customer the key is limited to"})


class ApiKeyCreated(ApiKeyOut):
    key = String(required=True, metadata={"description": "shown once; store it now"})


class ApiKeyList(Schema):
    items = List(Nested(ApiKeyOut), required=True)


class AlertOut(Schema):
    id = Integer(required=True)
    received_at = DateTime(required=True)
    action = String(required=True, metadata={"description": "trigger, acknowledge or resolve"})
    dedup_key = String(required=True)
    summary = String(required=True)
    source = String(required=True, allow_none=True)
    severity = String(required=True, allow_none=True)
    details = Dict(required=True)
    raw = Dict(required=True, metadata={"description": "the payload as the sender sent it"})


class AlertPage(Schema):
    items = List(Nested(AlertOut), required=True)
    next = String(required=True, allow_none=True)


class PageQuery(Schema):
    cursor = String(validate=Length(1, 64))
    limit = Integer(load_default=50, validate=Range(1, 200))
