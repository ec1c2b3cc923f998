"""The `heartbeats:` section of vigil.yaml: jobs that must ping Vigil every interval.

    heartbeats:
      - name: nightly-backup
        service: checkout          # a service in the file or already stored
        interval: 24h              # how often the job runs
        grace: 30m                 # how late it may be (default 5m)
        class: 2                   # the incident's class when it is missed
        title: Nightly backup did not run   # default: "Heartbeat <name> missed"

A new heartbeat's key is shown once in the result (like an integration's); existing ones keep
theirs (`vigil rotate-heartbeat-key NAME` issues a new one). With --prune, heartbeats not in the
file are deleted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.models import Heartbeat, Service
from incidents.services import heartbeats
from incidents.services.apply import fields
from incidents.services.apply.fields import SLUG, Keys, Problems
from incidents.services.apply.result import ApplyResult
from incidents.services.apply.rows import assign

HEARTBEAT = Keys(required=("name", "service", "interval", "class"), optional=("grace", "title"))
DEFAULT_GRACE = 300
LIMITS = {"interval": (60, 31 * 86400), "grace": (1, 7 * 86400)}  # a minute to a month; grace up to a week


@dataclass(frozen=True)
class HeartbeatSpec:
    path: str
    name: str
    service: str
    interval_seconds: int
    grace_seconds: int
    severity_class: int
    title: str


def parse_heartbeats(p: Problems, path: str, value: Any) -> list[HeartbeatSpec]:
    specs = fields.records(p, path, value, HEARTBEAT, _heartbeat)
    fields.unique(p, [(f"{s.path}.name", s.name) for s in specs], "heartbeat")
    return specs


def _heartbeat(p: Problems, path: str, raw: dict) -> HeartbeatSpec:
    name = fields.text(p, f"{path}.name", raw.get("name"), max_len=100, pattern=SLUG,
                       hint="use lower-case letters, digits, '-' and '_'")
    return HeartbeatSpec(
        path=path,
        name=name,
        service=fields.text(p, f"{path}.service", raw.get("service"), max_len=100),
        interval_seconds=_duration(p, path, "interval", raw.get("interval")),
        grace_seconds=_duration(p, path, "grace", raw.get("grace")) if "grace" in raw else DEFAULT_GRACE,
        severity_class=fields.severity_class(p, f"{path}.class", raw["class"]) if "class" in raw else None,
        title=fields.text(p, f"{path}.title", raw.get("title", f"Heartbeat {name} missed"), max_len=200),
    )


def _duration(p: Problems, path: str, key: str, value: Any) -> int | None:
    seconds = fields.seconds(p, f"{path}.{key}", value)
    low, high = LIMITS[key]
    if seconds is not None and not low <= seconds <= high:
        p.error(f"{path}.{key}", f"must be from {low}s to {high // 86400}d, got {value!r}")
        return None
    return seconds


def check(session: Session, specs: list[HeartbeatSpec] | None, service_names: set[str] | None, *,
          prune: bool) -> list[str]:
    """Each heartbeat's service is in the file, or stored (unless --prune deletes what the file leaves out)."""
    if not specs:
        return []
    known = set(service_names or ())
    if not (prune and service_names is not None):
        known |= set(session.scalars(select(Service.name)))
    return [f"{s.path}.service: unknown service {s.service!r}" for s in specs if s.service and s.service not in known]


def sync_heartbeats(session: Session, specs: list[HeartbeatSpec], *, prune: bool, public_url: str,
                    result: ApplyResult) -> None:
    result.section("heartbeats")
    services = {s.name: s for s in session.scalars(select(Service))}
    by_name = {h.name: h for h in session.scalars(select(Heartbeat))}
    now = clock.now()
    for spec in specs:
        row, service = by_name.get(spec.name), services[spec.service]
        if row is None:
            row, key = heartbeats.create(session, service=service, name=spec.name, title=spec.title,
                                         severity_class=spec.severity_class, interval_seconds=spec.interval_seconds,
                                         grace_seconds=spec.grace_seconds, now=now)
            result.heartbeats.append({"name": row.name, "service": service.name,
                                      "url": heartbeats.ping_url(public_url, key), "key": key})
            result.count("heartbeats", "created")
            continue
        changed = assign(row, service_id=service.id, title=spec.title, severity_class=spec.severity_class,
                         interval_seconds=spec.interval_seconds, grace_seconds=spec.grace_seconds)
        if changed and row.due_at is not None:  # a new interval counts from the last ping
            row.due_at = heartbeats.deadline(row, row.last_ping_at or row.created_at)
        result.count("heartbeats", "updated" if changed else "unchanged")
    if prune:
        keep = {s.name for s in specs}
        for name, row in by_name.items():
            if name not in keep:
                session.delete(row)
                result.count("heartbeats", "deleted")
