"""vigil.yaml as typed data: each section checked, every problem kept with its path in the file."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from incidents.services.apply import fields, paging_sections, playbook_section, sections, sla_sections
from incidents.services.apply.heartbeats import HeartbeatSpec, parse_heartbeats
from incidents.services.apply.fields import Keys, Problems
from incidents.services.apply.result import ApplyFailed
from incidents.services.apply.source import read_yaml
from incidents.services.apply.specs import (CustomerSpec, PolicySpec, RotationSpec, RuleSpec, ServiceSpec,
                                            UserSpec, WorkingHoursSpec)

SUPPORTED = ("timezone", "working_hours", "sla", "sla_warnings", "customers", "users", "classification", "rotations",
             "escalation_policies", "services", "breach_playbook", "heartbeats")
NOT_YET: tuple[str, ...] = ()
TOP = Keys(optional=SUPPORTED, unsupported=NOT_YET)


@dataclass
class Document:
    """The sections the file names; None means the file leaves that part alone."""

    timezone: str | None = None
    working_hours: WorkingHoursSpec | None = None
    sla: dict[str, int] | None = None
    sla_warnings: tuple[float, ...] | None = None  # shares of the response time, e.g. (0.5, 0.8)
    customers: list[CustomerSpec] | None = None
    users: list[UserSpec] | None = None
    classification: list[RuleSpec] | None = None
    rotations: list[RotationSpec] | None = None
    escalation_policies: list[PolicySpec] | None = None
    services: list[ServiceSpec] | None = None
    breach_playbook: dict[str, Any] | None = None  # normalised, as incidents.services.playbook reads it
    heartbeats: list[HeartbeatSpec] | None = None
    # With errors the specs may hold None where a value was wrong; such a document is never applied.
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def customer_slugs(self) -> set[str]:
        return {c.slug for c in self.customers or [] if c.slug}


def read_document(path: str) -> Document:
    """The checked document; ApplyFailed only when the file cannot be read or is not YAML."""
    data, duplicates = read_yaml(path)
    if data is None:
        raise ApplyFailed([f"{path}: the file is empty; expected sections such as timezone, sla, customers"])
    document = parse_document(data)
    document.errors[:0] = duplicates
    return document


def parse_document(data: Any) -> Document:
    p = Problems()
    document = Document()
    top = fields.mapping(p, "", data, TOP, what="a mapping of sections (timezone, sla, customers, ...)")
    for name, value in (top or {}).items():
        if value is None:
            p.error(name, "empty; give a value (use [] for an empty list)")
        else:
            setattr(document, name, _PARSERS[name](p, name, value))
    document.errors, document.warnings = p.errors, p.warnings
    return document


_PARSERS = {
    "timezone": fields.timezone,
    "working_hours": paging_sections.parse_working_hours,
    "sla": sections.parse_sla,
    "sla_warnings": sla_sections.parse_sla_warnings,
    "customers": sections.parse_customers,
    "users": sections.parse_users,
    "classification": sections.parse_classification,
    "rotations": paging_sections.parse_rotations,
    "escalation_policies": paging_sections.parse_escalation_policies,
    "services": sections.parse_services,
    "breach_playbook": playbook_section.parse_breach_playbook,
    "heartbeats": parse_heartbeats,
}
