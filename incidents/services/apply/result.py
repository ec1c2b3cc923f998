"""What `vigil apply` did (counts per section, warnings, keys shown once), or why it did nothing."""
from __future__ import annotations

from dataclasses import dataclass, field

# The verbs counted for each section, in the order they are shown; the last one only with --prune.
SECTION_VERBS: dict[str, tuple[str, ...]] = {
    "timezone": ("created", "updated", "unchanged"),
    "sla": ("created", "updated", "unchanged"),
    "sla_warnings": ("created", "updated", "unchanged"),
    "working_hours": ("created", "updated", "unchanged"),
    "customers": ("created", "updated", "unchanged", "deleted"),
    "users": ("created", "updated", "unchanged", "deactivated"),
    "classification": ("created", "updated", "unchanged", "deleted"),
    "rotations": ("created", "updated", "unchanged", "deleted"),
    "escalation_policies": ("created", "updated", "unchanged", "deleted"),
    "services": ("created", "updated", "unchanged", "deleted"),
    "integrations": ("created", "updated", "unchanged", "revoked"),
    "breach_playbook": ("created", "updated", "unchanged"),
    "heartbeats": ("created", "updated", "unchanged", "deleted"),
}


class ApplyFailed(Exception):
    """The file cannot be applied; nothing was changed. Each error starts with its path in the file."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class ApplyResult:
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Keys issued in this run, each shown once: {"service", "name", "type", "key", "url"}.
    integrations: list[dict[str, str]] = field(default_factory=list)
    # Heartbeat keys issued in this run, each shown once: {"name", "service", "url", "key"}.
    heartbeats: list[dict[str, str]] = field(default_factory=list)

    def section(self, name: str) -> None:
        """Report on a section the file names, even when it holds nothing."""
        self.changes.setdefault(name, dict.fromkeys(SECTION_VERBS[name], 0))

    def count(self, name: str, verb: str, n: int = 1) -> None:
        self.section(name)
        self.changes[name][verb] += n

    @property
    def changed(self) -> bool:
        return any(n for counts in self.changes.values() for verb, n in counts.items() if verb != "unchanged")

    def to_json(self) -> dict:
        return {"integrations": self.integrations, "heartbeats": self.heartbeats, "changes": self.changes,
                "warnings": self.warnings}
