"""The normalised alert every parser produces, and the checks they share."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from incidents.domain.enums import AlertAction

MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
MAX_SEVERITY = 32


class PayloadError(ValueError):
    """The payload does not have the shape its source promises; the message names the field."""


@dataclass(frozen=True)
class AlertIn:
    action: AlertAction
    dedup_key: str
    summary: str
    source: str | None = None
    severity: str | None = None
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def require_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where}: expected a JSON object")
    return value


def optional_str(obj: dict[str, Any], key: str, where: str, *, limit: int | None = None) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where}{key}: expected a string")
    return value[:limit] if limit else value


def required_str(obj: dict[str, Any], key: str, where: str, *, limit: int | None = None) -> str:
    value = optional_str(obj, key, where, limit=limit)
    if value is None or not value.strip():
        raise PayloadError(f"{where}{key}: required")
    return value


def dedup_key(value: str | None, where: str) -> str | None:
    if value is not None and len(value) > MAX_DEDUP_KEY:
        raise PayloadError(f"{where}dedup_key: at most {MAX_DEDUP_KEY} characters")
    return value


def string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise PayloadError(f"{where}: expected an object of strings")
    return value


def severity(value: str | None) -> str | None:
    return value.strip().lower()[:MAX_SEVERITY] or None if value else None


def digest(*parts: Any) -> str:
    """A stable key from content, for senders that give none."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
