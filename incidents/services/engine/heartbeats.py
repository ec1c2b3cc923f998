"""The heartbeat sweep: a heartbeat silent past interval + grace opens an incident.

Database-driven like the SLA sweep: `heartbeats.due_at` says when each must next be looked at,
rows are locked with SKIP LOCKED on PostgreSQL, and the incident opens through the alerts' intake
path (open_or_attach: classification, the escalation that pages, dedup on the key
"heartbeat:<name>") in the same transaction that clears `due_at`. So a replayed tick opens nothing
twice, and a heartbeat still missing opens no second incident: only a ping sets `due_at` again.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain.classification import Subject
from incidents.domain.durations import format_duration
from incidents.domain.enums import Source
from incidents.models import Heartbeat, Incident, Service
from incidents.services import lifecycle, timeline
from incidents.services.actor import Actor
from incidents.services.heartbeats import actor
from incidents.services.incidents import open_or_attach

BATCH = 100
SOURCE = "heartbeat"
SYSTEM = Actor.system()


def dedup_key(row: Heartbeat) -> str:
    return f"heartbeat:{row.name}"


def run(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Open an incident for each of up to `limit` heartbeats now missing; returns how many."""
    query = (select(Heartbeat).where(Heartbeat.due_at <= now).order_by(Heartbeat.due_at)
             .limit(limit).with_for_update(skip_locked=True))
    rows = list(session.scalars(query))
    for row in rows:
        missed(session, row, now=now)
    return len(rows)


def missed(session: Session, row: Heartbeat, *, now: datetime) -> int:
    """Open (or count on) the heartbeat's incident, in the heartbeat's class; its id."""
    since = row.last_ping_at or row.created_at
    subject = Subject(title=row.title, description=_description(row, since), source=SOURCE,
                      labels={"heartbeat": row.name})
    incident_id, created = open_or_attach(session, service=session.get(Service, row.service_id),
                                          dedup_key=dedup_key(row), subject=subject, actor=actor(row))
    incident = session.get(Incident, incident_id)
    if created and incident.severity_class != row.severity_class:
        # The heartbeat's configuration names the class; the rules classified only its title.
        lifecycle.reclassify(session, incident_id=incident_id, severity_class=row.severity_class,
                             reason=f"the class configured for heartbeat {row.name}", actor=SYSTEM,
                             source=Source.SYSTEM)
    timeline.record(session, incident_id=incident_id, kind="heartbeat_missed", actor=SYSTEM,
                    source=Source.SYSTEM, message=f"Heartbeat {row.name} missed: {_last(row)}",
                    data={"heartbeat": row.name, "last_ping_at": row.last_ping_at and row.last_ping_at.isoformat()})
    row.missed_at, row.due_at, row.incident_id = now, None, incident_id
    return incident_id


def _description(row: Heartbeat, since: datetime) -> str:
    return (f"Heartbeat {row.name} expects a ping every {_span(row.interval_seconds)} "
            f"(grace {_span(row.grace_seconds)}); none since {since:%Y-%m-%d %H:%M:%S} UTC.")


def _last(row: Heartbeat) -> str:
    if row.last_ping_at is None:
        return f"no ping since it was configured at {row.created_at:%Y-%m-%d %H:%M:%S} UTC"
    return f"last ping {row.last_ping_at:%Y-%m-%d %H:%M:%S} UTC"


def _span(seconds: int) -> str:
    return format_duration(timedelta(seconds=seconds))
