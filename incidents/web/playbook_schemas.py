"""Request and response schemas of the breach playbook API, so /api/openapi.json says what it returns."""
from __future__ import annotations

from apiflask import Schema
from apiflask.fields import DateTime, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from incidents.domain import playbook as rules
from incidents.services.playbook import runs

STATES = {"description": "pending, running, done, failed or skipped"}


class StartIn(Schema):
    mode = String(load_default=rules.Mode.LIVE.value, validate=OneOf([m.value for m in rules.Mode]),
                  metadata={"description": "live (the default) or drill (drill targets and recipients only)"})
    summary = String(validate=Length(0, runs.MAX_TEXT),
                     metadata={"description": "{summary} in the notice; the incident's title when left out"})
    actions = String(validate=Length(0, runs.MAX_TEXT),
                     metadata={"description": "{actions} in the notice; said from the rotate list when left out"})


class DrillIn(Schema):
    summary = String(validate=Length(0, runs.MAX_TEXT))
    actions = String(validate=Length(0, runs.MAX_TEXT))


class SkipIn(Schema):
    reason = String(required=True, validate=Length(1, runs.MAX_REASON),
                    metadata={"description": "why the step is left undone; recorded on the run and the timeline"})


class RunQuery(Schema):
    limit = Integer(load_default=50, validate=Range(1, 200))


class StepOut(Schema):
    position = Integer(required=True)
    kind = String(required=True)
    title = String(required=True)
    state = String(required=True, metadata=STATES)
    started_at = DateTime(required=True, allow_none=True)
    finished_at = DateTime(required=True, allow_none=True)
    actor = String(required=True, allow_none=True, metadata={"description": "who started, retried or skipped it"})
    summary = String(required=True, allow_none=True, metadata={"description": "what the step did, in plain words (never a secret)"})
    error = String(required=True, allow_none=True, metadata={"description": "why it failed, in plain words"})
    skip_reason = String(required=True, allow_none=True)
    attempts = Integer(required=True)


class NoticeCountsOut(Schema):
    pending = Integer(required=True)
    sending = Integer(required=True)
    sent = Integer(required=True)
    failed = Integer(required=True)
    uncertain = Integer(required=True, metadata={"description": "the worker stopped mid-send; not resent"})


class ReportStepOut(Schema):
    position = Integer(required=True)
    kind = String(required=True)
    title = String(required=True)
    state = String(required=True)
    seconds = Float(allow_none=True)
    attempts = Integer(required=True)
    error = String(allow_none=True, metadata={"description": "the last error, also when retried or skipped since"})


class ReportOut(Schema):
    steps = List(Nested(ReportStepOut), required=True)
    failures = Integer(required=True, metadata={"description": "failed attempts, retried or skipped since"})
    total_seconds = Float(allow_none=True)
    notify_all_seconds = Float(allow_none=True, metadata={
        "description": "from the start to the last customer notice sent; null when none was sent"})
    notices_undelivered = Integer(metadata={
        "description": "customer notices that failed or may not have arrived (listed on the run)"})


class RunSummaryOut(Schema):
    id = Integer(required=True)
    incident_id = Integer(required=True, allow_none=True)
    mode = String(required=True, metadata={"description": "live or drill"})
    state = String(required=True, metadata={"description": "running, failed (waiting for a retry or skip), "
                                                           "done or cancelled"})
    started_by = String(required=True)
    started_at = DateTime(required=True)
    finished_at = DateTime(required=True, allow_none=True)
    error = String(required=True, allow_none=True)


class RunOut(RunSummaryOut):
    aware_at = DateTime(required=True)
    steps = List(Nested(StepOut), required=True)
    notices = Nested(NoticeCountsOut, required=True, metadata={"description": "customer notices by state"})
    keys_waiting = List(String(), required=True, metadata={
        "description": "labels of new keys waiting to be shown once to an admin in the console (never the keys)"})
    report = Nested(ReportOut, required=True, allow_none=True, metadata={"description": "kept with a finished run"})


class RunList(Schema):
    items = List(Nested(RunSummaryOut), required=True)
