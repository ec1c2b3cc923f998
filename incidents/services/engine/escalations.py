"""The escalation engine's state changes: start, stop, restart, jump, and advancing due incidents.

Every change happens in the caller's transaction, together with the outbox rows and timeline
events it implies, so a crash leaves either all of it or none (STYLE 5). Deliveries are enqueued
only after COMMIT (services.after_commit).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain import escalation as rules
from incidents.domain.enums import Source, Status
from incidents.models import Escalation, EscalationPolicy, Incident, Service
from incidents.services import after_commit, maintenance, timeline
from incidents.services.actor import Actor
from incidents.services.engine import outbox, targets
from incidents.services.engine.calendar import next_working_start, working_now

ACTIVE = ("active", "deferred")
DUE = ACTIVE + (maintenance.HELD,)  # what the sweep advances; "held" waits for a maintenance window's end
BATCH = 100
SYSTEM = Actor.system()


def policy_for(session: Session, service_id: int | None) -> EscalationPolicy | None:
    """The service's policy; reports without a service use the policy named 'default'."""
    if service_id:
        service = session.get(Service, service_id)
        if service and service.escalation_policy_id:
            return session.get(EscalationPolicy, service.escalation_policy_id)
    return session.scalars(select(EscalationPolicy).where(EscalationPolicy.name == "default")).first()


def start(session: Session, *, incident_id: int, service_id: int | None, now: datetime) -> None:
    """A new incident: due at once; the first pages go out right after the commit."""
    policy = policy_for(session, service_id)
    if policy is None:
        return
    session.add(Escalation(incident_id=incident_id, policy_id=policy.id, step=-1, cycle=0,
                           next_at=now, state="active", updated_at=now))
    after_commit.enqueue(session, "engine.advance", incident_id)


def stop(session: Session, *, incident_id: int, reason: str, now: datetime) -> None:
    """Acknowledged or resolved: no further steps, and pages not yet sent are withdrawn."""
    row = session.get(Escalation, incident_id, with_for_update=True)
    if row is not None and row.next_at is not None:
        row.next_at, row.state, row.updated_at = None, "stopped", now
    outbox.cancel_unsent(session, incident_id=incident_id, reason=reason, now=now)


def restart(session: Session, *, incident: Incident, now: datetime) -> None:
    """A reopened incident starts its policy again from the first step."""
    row = session.get(Escalation, incident.id, with_for_update=True)
    if row is None:
        start(session, incident_id=incident.id, service_id=incident.service_id, now=now)
        return
    row.step, row.cycle, row.next_at, row.state, row.updated_at = -1, 0, now, "active", now
    after_commit.enqueue(session, "engine.advance", incident.id)


def jump(session: Session, *, incident: Incident, actor: Actor, source: Source, now: datetime) -> None:
    """A person's "escalate": the next step pages now, whatever the clock says."""
    row = session.get(Escalation, incident.id, with_for_update=True)
    if row is None:
        policy = policy_for(session, incident.service_id)
        if policy is None:
            return
        row = Escalation(incident_id=incident.id, policy_id=policy.id, step=-1, cycle=0,
                         next_at=now, state="active", updated_at=now)
        session.add(row)
    timeline.record(session, incident_id=incident.id, kind="escalate_requested", actor=actor,
                    source=source, message=f"{actor.label} asked to escalate now")
    _advance(session, row, incident, now, jump=True)


def advance_due(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Advance up to `limit` incidents whose escalation is due; returns how many were advanced.

    Rows are locked with SKIP LOCKED on PostgreSQL, so several workers share the work.
    """
    query = (select(Escalation).where(Escalation.next_at <= now, Escalation.state.in_(DUE))
             .order_by(Escalation.next_at).limit(limit).with_for_update(skip_locked=True))
    rows = list(session.scalars(query))
    for row in rows:
        incident = session.get(Incident, row.incident_id)
        _advance(session, row, incident, now)
    return len(rows)


def advance_one(session: Session, *, incident_id: int, now: datetime) -> bool:
    """The fast path after intake: advance this incident if it is due (no-op otherwise)."""
    row = session.scalars(select(Escalation).where(
        Escalation.incident_id == incident_id, Escalation.next_at <= now,
        Escalation.state.in_(DUE)).with_for_update(skip_locked=True)).first()
    if row is None:
        return False
    _advance(session, row, session.get(Incident, incident_id), now)
    return True


def _advance(session: Session, row: Escalation, incident: Incident, now: datetime, *,
             jump: bool = False) -> None:
    if incident.status != Status.TRIGGERED and not jump:
        row.next_at, row.state, row.updated_at = None, "stopped", now
        return
    if not jump and _held(session, row, incident, now):
        return
    policy_row = session.get(EscalationPolicy, row.policy_id)
    policy = to_policy(policy_row)
    working = working_now(session, now)
    decision = rules.advance(
        policy, step=row.step, cycle=row.cycle, severity_class=incident.severity_class,
        working=working, now=now, jump=jump,
        resolve=lambda step: targets.resolve(session, step, now),
        next_working_start=lambda: next_working_start(session, now))
    for skip in decision.skipped:
        timeline.record(session, incident_id=incident.id, kind="step_skipped", actor=SYSTEM,
                        source=Source.SYSTEM,
                        message=f"Step {skip.step + 1} skipped: {skip.reason}",
                        data={"step": skip.step, "cycle": skip.cycle})
    row.updated_at = now
    if decision.kind == "defer":
        if row.state != "deferred":
            timeline.record(session, incident_id=incident.id, kind="deferred", actor=SYSTEM,
                            source=Source.SYSTEM,
                            message=f"Class {incident.severity_class} outside working hours: "
                                    f"paging waits until {decision.next_at:%Y-%m-%d %H:%M} UTC")
        row.state, row.next_at = "deferred", decision.next_at
        return
    if decision.kind == "exhausted":
        timeline.record(session, incident_id=incident.id, kind="exhausted", actor=SYSTEM,
                        source=Source.SYSTEM,
                        message="Nobody acknowledged and the policy has no steps left")
        row.state, row.next_at = "exhausted", None
        return
    step = policy.steps[decision.step]
    outbox.page(session, incident=incident, step=decision.step, cycle=decision.cycle,
                recipients=decision.recipients, channels=step.channels, now=now)
    row.step, row.cycle, row.next_at, row.state = decision.step, decision.cycle, decision.next_at, "active"


def _held(session: Session, row: Escalation, incident: Incident, now: datetime) -> bool:
    """Maintenance holds pages (services.maintenance): while a window covers the incident's service
    the row waits in state "held" until the window ends, then pages if the incident is still
    triggered (acknowledging or resolving it meanwhile stops it as ever). A person's "escalate"
    (jump) is not held: it is an explicit request to page."""
    until = maintenance.held_until(session, service_id=incident.service_id, now=now)
    if until is not None:
        if row.state != maintenance.HELD:
            timeline.record(session, incident_id=incident.id, kind="maintenance_held", actor=SYSTEM,
                            source=Source.SYSTEM,
                            message=f"In maintenance: paging held until {until:%Y-%m-%d %H:%M} UTC")
        row.state, row.next_at, row.updated_at = maintenance.HELD, until, now
        return True
    if row.state == maintenance.HELD:
        timeline.record(session, incident_id=incident.id, kind="maintenance_over", actor=SYSTEM,
                        source=Source.SYSTEM,
                        message="Maintenance over and still unacknowledged: the held pages go out now")
        row.state = "active"
    return False


def to_policy(row: EscalationPolicy) -> rules.Policy:
    steps = tuple(rules.Step(tuple(s["targets"]), tuple(s["channels"]),
                             timedelta(seconds=s["escalate_after"]), s.get("when"))
                  for s in row.steps)
    return rules.Policy(steps, row.repeat, frozenset(row.defer_classes))
