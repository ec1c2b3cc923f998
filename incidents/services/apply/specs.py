"""What the file asks for, one frozen dataclass per kind of thing; `path` is where it is in the file."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CustomerSpec:
    path: str
    slug: str
    name: str
    sla_minutes: dict[str, int]
    uptime_target: float | None
    contacts: list[dict[str, str | None]]


@dataclass(frozen=True)
class UserSpec:
    path: str
    email: str
    name: str
    role: str
    phone: str | None
    slack_user_id: str | None
    timezone: str | None


@dataclass(frozen=True)
class RuleSpec:
    path: str
    name: str
    severity_class: int
    category: str
    match: dict[str, Any]


@dataclass(frozen=True)
class IntegrationSpec:
    path: str
    name: str
    type: str


@dataclass(frozen=True)
class ServiceSpec:
    path: str
    name: str
    customer: str
    auto_resolve: bool
    integrations: tuple[IntegrationSpec, ...]
