"""Prometheus Alertmanager webhook, payload version 4: every alert of the group is handled."""
from __future__ import annotations

from typing import Any

from alerts.sources.base import (AlertIn, PayloadError, digest, optional_str, require_object,
                                 severity, string_map)
from incidents.domain.enums import AlertAction

GROUP_FIELDS = ("receiver", "groupKey", "externalURL", "groupLabels")


def parse(payload: Any) -> list[AlertIn]:
    body = require_object(payload, "body")
    version = body.get("version")
    if version is not None and version != "4":
        raise PayloadError(f"version: Vigil reads Alertmanager webhook payload version 4, got {version!r}")
    return parse_group(body, default_source="alertmanager")


def parse_group(body: dict[str, Any], *, default_source: str) -> list[AlertIn]:
    """The alerts of an Alertmanager-shaped group (Grafana sends the same shape)."""
    items = body.get("alerts")
    if not isinstance(items, list):
        raise PayloadError("alerts: expected a list of alerts")
    group = {k: body[k] for k in GROUP_FIELDS if k in body}
    return [_alert(item, f"alerts[{i}].", group, default_source) for i, item in enumerate(items)]


def _alert(item: Any, where: str, group: dict[str, Any], default_source: str) -> AlertIn:
    item = require_object(item, where.rstrip("."))
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"{where}status: expected 'firing' or 'resolved'")
    labels = string_map(item.get("labels"), f"{where}labels")
    annotations = string_map(item.get("annotations"), f"{where}annotations")
    fingerprint = optional_str(item, "fingerprint", where, limit=255) or digest(labels)
    name = labels.get("alertname", "")
    text = annotations.get("summary") or annotations.get("description") or ""
    summary = f"{name}: {text}" if name and text and name not in text else (text or name or "alert")
    return AlertIn(
        action=AlertAction.TRIGGER if status == "firing" else AlertAction.RESOLVE,
        dedup_key=fingerprint,
        summary=summary[:1024],
        source=labels.get("instance") or labels.get("job") or default_source,
        severity=severity(labels.get("severity")),
        description=annotations.get("description", "") if annotations.get("summary") else "",
        labels=labels,
        details={"labels": labels, "annotations": annotations, **group,
                 **{k: item[k] for k in ("startsAt", "endsAt", "generatorURL") if k in item}},
        raw=item,
    )
