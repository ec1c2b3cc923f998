"""One verb per action: acknowledge, resolve, reopen, escalate, assign, comment, reclassify.

The first acknowledge, assign, comment or resolve by a person is the incident's response, which
stops its SLA clock (sla_clock.stop).

Console, API, Slack and SMS all call these; each writes the timeline with the actor and door.
Repeating an action that is already done (a second acknowledge) changes nothing and is no error,
because people double-tap buttons and SMS replies cross in flight.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain.enums import SEVERITY_CLASSES, Source, Status
from incidents.domain.playbook import BREACH_CATEGORY
from incidents.models import Incident, User
from incidents.services import breach_hooks, sla_clock, timeline
from incidents.services.actor import Actor
from incidents.services.engine import escalations
from incidents.services.errors import Conflict, Invalid
from incidents.services.incidents import get

MAX_COMMENT = 10_000


def acknowledge(session: Session, *, incident_id: int, actor: Actor, source: Source) -> Incident:
    incident = get(session, incident_id, for_update=True)
    if incident.status == Status.RESOLVED:
        raise Conflict(f"incident {incident_id} is resolved; reopen it to acknowledge it")
    if incident.status == Status.TRIGGERED:
        now = clock.now()
        incident.status = Status.ACKNOWLEDGED.value
        incident.acknowledged_at, incident.acknowledged_by, incident.updated_at = now, actor.label, now
        timeline.record(session, incident_id=incident.id, kind="acknowledged", actor=actor,
                        source=source, message=f"Acknowledged by {actor.label}")
        escalations.stop(session, incident_id=incident.id, reason="acknowledged", now=now)
    sla_clock.stop(session, incident=incident, actor=actor, now=clock.now())
    return incident


def resolve(session: Session, *, incident_id: int, actor: Actor, source: Source,
            note: str | None = None) -> Incident:
    incident = get(session, incident_id, for_update=True)
    if incident.status != Status.RESOLVED:
        now = clock.now()
        incident.status = Status.RESOLVED.value
        incident.resolved_at, incident.resolved_by, incident.updated_at = now, actor.label, now
        timeline.record(session, incident_id=incident.id, kind="resolved", actor=actor, source=source,
                        message=f"Resolved by {actor.label}" + (f": {note}" if note else ""))
        escalations.stop(session, incident_id=incident.id, reason="resolved", now=now)
    sla_clock.stop(session, incident=incident, actor=actor, now=clock.now())
    return incident


def reopen(session: Session, *, incident_id: int, actor: Actor, source: Source) -> Incident:
    """Back to triggered, paging from the first step again. The response clock: a person's response
    stands (the clock stays stopped); with none, it runs again, without the time the incident was
    resolved (sla_clock.after_reopen)."""
    incident = get(session, incident_id, for_update=True)
    if incident.status != Status.RESOLVED:
        raise Conflict(f"incident {incident_id} is not resolved")
    if incident.dedup_key and incident.service_id:
        newer = session.scalar(select(Incident.id).where(
            Incident.service_id == incident.service_id, Incident.dedup_key == incident.dedup_key,
            Incident.status != Status.RESOLVED))
        if newer:
            raise Conflict(f"incident {newer} is already open for the same alert; work on that one")
    now = clock.now()
    resolved_at, resolved_by = incident.resolved_at or now, incident.resolved_by or ""
    incident.status = Status.TRIGGERED.value
    incident.acknowledged_at = incident.acknowledged_by = None
    incident.resolved_at = incident.resolved_by = None
    incident.updated_at = now
    how = sla_clock.after_reopen(session, incident=incident, resolved_at=resolved_at, resolved_by=resolved_by,
                                 now=now)
    timeline.record(session, incident_id=incident.id, kind="reopened", actor=actor, source=source,
                    message=f"Reopened by {actor.label}{how}")
    escalations.restart(session, incident=incident, now=now)
    return incident


def escalate(session: Session, *, incident_id: int, actor: Actor, source: Source) -> Incident:
    """Page the next step now, without waiting for the current one's time to run out."""
    incident = get(session, incident_id, for_update=True)
    if incident.status == Status.RESOLVED:
        raise Conflict(f"incident {incident_id} is resolved; reopen it to escalate it")
    if incident.status == Status.ACKNOWLEDGED:
        # Whoever acknowledged asks for help: the incident pages again from the next step.
        incident.status = Status.TRIGGERED.value
        incident.acknowledged_at = incident.acknowledged_by = None
    incident.updated_at = clock.now()
    escalations.jump(session, incident=incident, actor=actor, source=source, now=incident.updated_at)
    return incident


def assign(session: Session, *, incident_id: int, assignee_email: str, actor: Actor,
           source: Source) -> Incident:
    incident = get(session, incident_id, for_update=True)
    user = session.scalars(select(User).where(User.email == assignee_email.strip().lower())).first()
    if user is None or not user.active:
        raise Invalid(f"assignee: no active user {assignee_email!r}")
    if incident.assignee_id != user.id:
        incident.assignee_id, incident.updated_at = user.id, clock.now()
        timeline.record(session, incident_id=incident.id, kind="assigned", actor=actor, source=source,
                        message=f"Assigned to {user.name} <{user.email}> by {actor.label}",
                        data={"assignee": user.email})
    sla_clock.stop(session, incident=incident, actor=actor, now=clock.now())
    return incident


def comment(session: Session, *, incident_id: int, text: str, actor: Actor, source: Source) -> Incident:
    body = text.strip()
    if not body:
        raise Invalid("text: a comment cannot be empty")
    if len(body) > MAX_COMMENT:
        raise Invalid(f"text: a comment is at most {MAX_COMMENT} characters")
    incident = get(session, incident_id)
    incident.updated_at = clock.now()
    timeline.record(session, incident_id=incident.id, kind="comment", actor=actor, source=source,
                    message=body)
    sla_clock.stop(session, incident=incident, actor=actor, now=incident.updated_at)
    return incident


def reclassify(session: Session, *, incident_id: int, severity_class: int, reason: str,
               actor: Actor, source: Source, category: str | None = None) -> Incident:
    """Move an incident to another class; its deadline becomes opened_at + the new response time
    (on the customer's clock for the class, moved by any pauses)."""
    if severity_class not in SEVERITY_CLASSES:
        raise Invalid("severity_class: must be 1, 2 or 3")
    if not reason.strip():
        raise Invalid("reason: say why the class changes")
    incident = get(session, incident_id, for_update=True)
    if incident.severity_class == severity_class and (category is None or category == incident.category):
        raise Conflict(f"incident {incident_id} is already class {severity_class}")
    old_class, old_due, old_category = incident.severity_class, incident.response_due_at, incident.category
    incident.severity_class = severity_class
    if category:
        incident.category = category[:64]
    incident.updated_at = clock.now()
    sla_clock.refresh(session, incident, now=incident.updated_at)
    timeline.record(
        session, incident_id=incident.id, kind="reclassified", actor=actor, source=source,
        message=f"Class {old_class} → {severity_class} by {actor.label}: {reason.strip()}",
        data={"from": old_class, "to": severity_class, "reason": reason.strip(),
              "response_due_at": {"from": old_due.isoformat(), "to": incident.response_due_at.isoformat()}})
    if incident.category == BREACH_CATEGORY and old_category != BREACH_CATEGORY:
        breach_hooks.on_breach(session, incident=incident, now=incident.updated_at)  # awareness: now
    return incident
