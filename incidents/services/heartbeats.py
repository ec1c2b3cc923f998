"""Heartbeats: a job that should run every interval pings its key; silence is the engine's concern.

A key is returned once, when made or rotated, and stored as a SHA-256 hash (services.keys), like an
integration key. A ping moves the heartbeat's deadline (`due_at`) to now + interval + grace, and
resolves the incident its silence opened (engine.heartbeats opens it).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain.enums import Source, Status
from incidents.models import Heartbeat, Incident, Service
from incidents.services import audit, lifecycle
from incidents.services.actor import Actor
from incidents.services.errors import NotFound
from incidents.services.keys import hash_key, hint, new_integration_key

PATH = "/api/v1/heartbeats/"


def ping_url(public_url: str, key: str) -> str:
    return public_url.rstrip("/") + PATH + key


def actor(row: Heartbeat) -> Actor:
    return Actor(f"heartbeat {row.name}")


def deadline(row: Heartbeat, since: datetime) -> datetime:
    """When silence since `since` becomes a missed heartbeat."""
    return since + timedelta(seconds=row.interval_seconds + row.grace_seconds)


def create(session: Session, *, service: Service, name: str, title: str, severity_class: int,
           interval_seconds: int, grace_seconds: int, now: datetime) -> tuple[Heartbeat, str]:
    """A new heartbeat and its key (returned once). The first ping is due one interval + grace
    from now, so a job configured today has its first run's time to report in."""
    key = new_integration_key()
    row = Heartbeat(service=service, name=name, title=title, severity_class=severity_class,
                    interval_seconds=interval_seconds, grace_seconds=grace_seconds,
                    key_hash=hash_key(key), key_hint=hint(key), created_at=now)
    row.due_at = deadline(row, now)
    session.add(row)
    session.flush()
    return row, key


def rotate_key(session: Session, *, name: str, actor: Actor | None = None, where: audit.Where | None = None,
               now: datetime | None = None) -> tuple[Heartbeat, str]:
    """A new key for the heartbeat; the old one stops working at once. Audited when `actor` is given."""
    row = session.scalars(select(Heartbeat).where(Heartbeat.name == name)).first()
    if row is None:
        raise NotFound(f"there is no heartbeat {name!r}")
    key, old_hint = new_integration_key(), row.key_hint
    row.key_hash, row.key_hint = hash_key(key), hint(key)
    if actor is not None and where is not None and now is not None:
        audit.record(session, actor=actor, where=where, action="heartbeat.rotate_key", target=name, now=now,
                     details={"key_hint": {"from": old_hint, "to": row.key_hint}})
    return row, key


def get_by_key(session: Session, key: str) -> Heartbeat:
    """The heartbeat owning `key`, locked; one answer for every key that is not one."""
    row = session.scalars(select(Heartbeat).where(Heartbeat.key_hash == hash_key(key))
                          .with_for_update()).first() if key else None
    if row is None:
        raise NotFound("unknown heartbeat key (check the URL; a rotated key stops working)")
    return row


def ping(session: Session, *, key: str, now: datetime) -> Heartbeat:
    """The job ran: the next ping is due one interval + grace from now, and the incident its
    silence opened, if still open, is resolved (the job has evidently recovered)."""
    row = get_by_key(session, key)
    row.last_ping_at, row.due_at = now, deadline(row, now)
    if row.missed_at is not None:
        missed_at, row.missed_at = row.missed_at, None
        incident = session.get(Incident, row.incident_id) if row.incident_id else None
        if incident is not None and incident.status != Status.RESOLVED:
            lifecycle.resolve(session, incident_id=incident.id, actor=actor(row), source=Source.SYSTEM,
                              note=f"the heartbeat pinged again at {now:%Y-%m-%d %H:%M:%S} UTC "
                                   f"(missing since {missed_at:%Y-%m-%d %H:%M:%S} UTC)")
    return row
