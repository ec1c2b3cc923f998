"""Closed vocabularies shared by every layer."""
from enum import StrEnum


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Source(StrEnum):
    """The door an action came through, written to the timeline."""

    API = "api"
    CONSOLE = "console"
    SLACK = "slack"
    SMS = "sms"
    SYSTEM = "system"


class Role(StrEnum):
    ADMIN = "admin"
    OPS_ENGINEER = "ops_engineer"
    RESPONDER = "responder"
    VIEWER = "viewer"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def grants(self) -> list[str]:
        """Scopes are cumulative: admin can write, write can read."""
        order = [Scope.READ, Scope.WRITE, Scope.ADMIN]
        return [s.value for s in order[: order.index(self) + 1]]


class IntegrationType(StrEnum):
    ALERTMANAGER = "alertmanager"
    PAGERDUTY = "pagerduty"
    GRAFANA = "grafana"
    GENERIC = "generic"


class AlertAction(StrEnum):
    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


SEVERITY_CLASSES = (1, 2, 3)
