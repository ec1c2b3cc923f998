"""Generic JSON for scripts: summary, source, severity, dedup_key, status, details."""
from __future__ import annotations

from typing import Any

from alerts.sources.base import (AlertIn, PayloadError, dedup_key, digest, optional_str,
                                 require_object, required_str, severity)
from incidents.domain.enums import AlertAction


def parse(payload: Any) -> AlertIn:
    body = require_object(payload, "body")
    status = body.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise PayloadError("status: expected 'firing' or 'resolved'")
    details = body.get("details", {})
    if not isinstance(details, dict):
        raise PayloadError("details: expected a JSON object")
    summary = required_str(body, "summary", "", limit=1024)
    source = optional_str(body, "source", "", limit=255)
    # Without a dedup_key, repeats of the same summary from the same source are one incident.
    key = dedup_key(optional_str(body, "dedup_key", ""), "") or digest(source, summary)
    return AlertIn(
        action=AlertAction.TRIGGER if status == "firing" else AlertAction.RESOLVE,
        dedup_key=key,
        summary=summary,
        source=source,
        severity=severity(optional_str(body, "severity", "")),
        description=optional_str(body, "description", "") or "",
        details=details,
        raw=body,
    )
