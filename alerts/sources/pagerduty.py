"""PagerDuty Events API v2: anything that can page PagerDuty can page Vigil unchanged."""
from __future__ import annotations

import uuid
from typing import Any

from alerts.sources.base import (AlertIn, PayloadError, dedup_key, optional_str, require_object,
                                 required_str, severity)
from incidents.domain.enums import AlertAction

SEVERITIES = ("critical", "error", "warning", "info")
EXTRA_FIELDS = ("client", "client_url", "links", "images")
PAYLOAD_EXTRAS = ("timestamp", "component", "group", "class")


def parse(payload: Any) -> AlertIn:
    body = require_object(payload, "body")
    # The routing key is the integration's secret: it is never stored with the raw event.
    raw = {k: v for k, v in body.items() if k != "routing_key"}
    action = body.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        raise PayloadError("event_action: expected 'trigger', 'acknowledge' or 'resolve'")
    key = dedup_key(optional_str(body, "dedup_key", ""), "")
    if action != "trigger":
        if not key:
            raise PayloadError(f"dedup_key: required to {action}")
        return AlertIn(action=AlertAction(action), dedup_key=key, summary=f"{action} via Events API",
                       raw=raw)
    inner = require_object(body.get("payload"), "payload")
    level = required_str(inner, "severity", "payload.")
    if level not in SEVERITIES:
        raise PayloadError(f"payload.severity: expected one of {', '.join(SEVERITIES)}")
    custom = inner.get("custom_details")
    return AlertIn(
        action=AlertAction.TRIGGER,
        dedup_key=key or uuid.uuid4().hex,  # PagerDuty makes one up too, and returns it
        summary=required_str(inner, "summary", "payload.", limit=1024),
        source=required_str(inner, "source", "payload.", limit=255),
        severity=severity(level),
        details={"custom_details": custom if custom is not None else {},
                 **{k: inner[k] for k in PAYLOAD_EXTRAS if k in inner},
                 **{k: body[k] for k in EXTRA_FIELDS if k in body}},
        raw=raw,
    )
