"""The intake endpoints' bodies and answers for the OpenAPI document.

Intake views read their body themselves, after the integration key is checked (alerts.web), so
no `@bp.input` may parse it first; these JSON schemas only describe it. Senders' extra fields are
allowed and kept with the raw alert, as the real Alertmanager, Grafana and PagerDuty send them."""
from __future__ import annotations

_TEXT = {"type": "string"}
_ANY = {}
_OPTIONAL = {"type": ["string", "null"]}
_NOT_BLANK = "\\S"  # a required text needs one character that is not a space


def _cut(limit: int, *, required: bool = False) -> dict:
    """A text that is cut, not refused, past `limit` characters."""
    if required:
        return {"type": "string", "pattern": _NOT_BLANK, "description": f"cut to {limit} characters"}
    return {**_OPTIONAL, "description": f"cut to {limit} characters"}


_KEY = {"type": ["string", "null"], "maxLength": 255}
_DETAILS = {"type": "object", "description": "any JSON object, kept with the alert"}
_STRING_MAP = {"type": ["object", "null"], "additionalProperties": {"type": "string"}}

GENERIC = {
    "type": "object", "required": ["summary"],
    "properties": {
        "summary": _cut(1024, required=True),
        "source": _cut(255),
        "severity": {**_OPTIONAL, "description": "e.g. critical, error, warning or info"},
        "dedup_key": {**_KEY, "description": "repeats with the same key are one incident; "
                                             "default: source and summary"},
        "status": {"type": "string", "enum": ["firing", "resolved"], "default": "firing"},
        "description": _OPTIONAL,
        "details": _DETAILS,
    },
}

_AM_ALERT = {
    "type": "object", "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["firing", "resolved"]},
                   "labels": _STRING_MAP, "annotations": _STRING_MAP, "fingerprint": _cut(255),
                   "startsAt": _ANY, "endsAt": _ANY, "generatorURL": _ANY},
}
ALERTMANAGER = {
    "type": "object", "required": ["alerts"],
    "description": "Alertmanager's webhook payload, version 4",
    "properties": {"version": {"type": ["string", "null"], "enum": ["4", None]},
                   "alerts": {"type": "array", "items": _AM_ALERT}},
}
GRAFANA = {**ALERTMANAGER, "description": "Grafana's webhook contact point payload: Alertmanager's "
                                          "shape, any version",
           "properties": {**ALERTMANAGER["properties"], "version": _ANY}}

_PD_PAYLOAD = {
    "type": "object", "required": ["summary", "source", "severity"],
    "properties": {"summary": _cut(1024, required=True), "source": _cut(255, required=True),
                   "severity": {"type": "string", "enum": ["critical", "error", "warning", "info"]},
                   "custom_details": _ANY},
}
PAGERDUTY = {
    "type": "object", "required": ["routing_key", "event_action"],
    "description": "A PagerDuty Events API v2 event; a trigger needs `payload`, acknowledge and "
                   "resolve need `dedup_key`",
    "properties": {"routing_key": {**_TEXT, "description": "the integration key"},
                   "event_action": {"type": "string", "enum": ["trigger", "acknowledge", "resolve"]},
                   "dedup_key": _KEY, "payload": _PD_PAYLOAD},
    "if": {"properties": {"event_action": {"const": "trigger"}}},
    "then": {"required": ["payload"]},
    "else": {"required": ["dedup_key"], "properties": {"dedup_key": {"type": "string", "minLength": 1}}},
}

_OUTCOME = {
    "type": "object", "required": ["dedup_key", "action", "incident_id", "created"],
    "properties": {"dedup_key": _TEXT,
                   "action": {"type": "string", "enum": ["trigger", "acknowledge", "resolve"]},
                   "incident_id": {"type": ["integer", "null"],
                                   "description": "null when nothing was open to acknowledge or resolve"},
                   "created": {"type": "boolean", "description": "a new incident was opened"}},
}
ACCEPTED = {
    "type": "object", "required": ["status", "alerts"],
    "properties": {"status": {"type": "string", "enum": ["accepted"]},
                   "alerts": {"type": "array", "items": _OUTCOME}},
}
PAGERDUTY_ACCEPTED = {
    "type": "object", "required": ["status", "message", "dedup_key"],
    "properties": {"status": {"type": "string", "enum": ["success"]}, "message": _TEXT, "dedup_key": _TEXT},
}

# path -> (request body, 202 body)
BODIES = {"/api/v1/alerts": (GENERIC, ACCEPTED), "/api/v1/alerts/alertmanager": (ALERTMANAGER, ACCEPTED),
          "/api/v1/alerts/grafana": (GRAFANA, ACCEPTED), "/v2/enqueue": (PAGERDUTY, PAGERDUTY_ACCEPTED)}
