"""What the file asks for, one frozen dataclass per kind of thing; `path` is where it is in the file."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class CustomerSpec:
    path: str
    slug: str
    name: str
    sla_minutes: dict[str, int]
    sla_clock: dict[str, str]  # {"3": "working_hours"}: only the classes not counted 24x7
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
    escalation_policy: str | None  # a policy's name; None: none (the engine then uses 'default')


@dataclass(frozen=True)
class WorkingHoursSpec:
    path: str
    timezone: str | None  # None: the default time zone
    days: tuple[int, ...]  # 0 = Monday, sorted
    start: str  # "09:00"
    end: str
    holidays: tuple[str, ...]  # ISO dates, sorted

    def stored(self, default_timezone: str) -> dict[str, Any]:
        """The settings value incidents.services.engine.calendar.load() reads."""
        return {"timezone": self.timezone or default_timezone, "days": list(self.days), "start": self.start,
                "end": self.end, "holidays": list(self.holidays)}


@dataclass(frozen=True)
class RotationSpec:
    path: str
    name: str
    timezone: str | None  # None: the default time zone
    handoff_weekday: int  # 0 = Monday
    handoff_time: str  # "09:00", local to the rotation's time zone
    start_date: date
    members: tuple[str, ...]  # user e-mails (lower-case), in order


@dataclass(frozen=True)
class StepSpec:
    path: str
    targets: tuple[str, ...]  # "rotation:NAME", "user:EMAIL", "slack:CHANNEL"
    channels: tuple[str, ...]  # paged together, as written
    escalate_after: int  # seconds
    when: str | None  # "working_hours", "outside_working_hours" or None (always)

    def stored(self) -> dict[str, Any]:
        """One item of EscalationPolicy.steps, as incidents.services.engine.escalations.to_policy() reads it."""
        return {"targets": list(self.targets), "channels": list(self.channels),
                "escalate_after": self.escalate_after, "when": self.when}


@dataclass(frozen=True)
class PolicySpec:
    path: str
    name: str
    repeat: int
    defer_classes: tuple[int, ...]  # sorted
    steps: tuple[StepSpec, ...]
