"""Grafana alerting's webhook contact point: an Alertmanager-shaped group (version "1")."""
from __future__ import annotations

from typing import Any

from alerts.sources.alertmanager import parse_group
from alerts.sources.base import AlertIn, require_object


def parse(payload: Any) -> list[AlertIn]:
    return parse_group(require_object(payload, "body"), default_source="grafana")
