"""Escalation policies as the console reads and edits them.

The full definition (targets, channels, working-hours conditions, deferral) is configuration as
code (`vigil apply`, incidents/services/apply/policies.py). Between applies, ops engineers may
tune what an outage shows to be wrong: how long each step waits, how often the steps repeat, and
which policy a service uses. Every change is audited.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from incidents.domain.durations import format_duration
from incidents.models import EscalationPolicy, Service
from incidents.services import audit
from incidents.services.actor import Actor
from incidents.services.errors import Conflict, Invalid, NotFound

DEFAULT = "default"  # the policy the engine uses for a service without one, and for reports
MIN_DELAY, MAX_DELAY = timedelta(seconds=30), timedelta(days=7)
MAX_REPEAT = 100  # as vigil.yaml allows (apply/paging_sections.py)
MAX_ID = 2 ** 63 - 1


def list_policies(session: Session) -> list[EscalationPolicy]:
    return list(session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.name)))


def get(session: Session, policy_id: int) -> EscalationPolicy:
    row = session.get(EscalationPolicy, policy_id) if 0 < policy_id <= MAX_ID else None
    if row is None:
        raise NotFound(f"escalation policy {policy_id} does not exist")
    return row


def list_services(session: Session) -> list[Service]:
    return list(session.scalars(select(Service).order_by(Service.name)
                                .options(selectinload(Service.customer))))


def services_by_policy(services: list[Service]) -> dict[int | None, list[Service]]:
    """Services grouped by the id of the policy they use (None: none, so 'default')."""
    found: dict[int | None, list[Service]] = defaultdict(list)
    for service in services:
        found[service.escalation_policy_id].append(service)
    return found


def update_timing(session: Session, *, policy_id: int, delays: list[timedelta], repeat: int,
                  actor: Actor, where: audit.Where, now: datetime) -> tuple[EscalationPolicy, bool]:
    """Set each step's wait before the next step and the repeat count: (policy, whether it changed).

    `delays` are in step order and must be one per step: a policy re-applied meanwhile with a
    different number of steps is a conflict, not a guess.
    """
    policy = get(session, policy_id)
    steps = list(policy.steps or [])
    if len(delays) != len(steps):
        raise Conflict(f"{policy.name!r} now has {len(steps)} step(s), not {len(delays)}: it was "
                       "changed meanwhile; reload the page and try again")
    for number, delay in enumerate(delays, start=1):
        if not MIN_DELAY <= delay <= MAX_DELAY:
            raise Invalid(f"step {number}: wait from {format_duration(MIN_DELAY)} to "
                          f"{format_duration(MAX_DELAY)}, not {format_duration(delay)}")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 0 <= repeat <= MAX_REPEAT:
        raise Invalid(f"repeat: a whole number from 0 to {MAX_REPEAT}")
    before = [int(step.get("escalate_after", 0)) for step in steps]
    after = [int(delay.total_seconds()) for delay in delays]
    if before == after and policy.repeat == repeat:
        return policy, False
    details = {"escalate_after": {"from": before, "to": after}, "repeat": {"from": policy.repeat, "to": repeat}}
    # A new list (not the old one edited in place), so the JSON column is written.
    policy.steps = [{**step, "escalate_after": seconds} for step, seconds in zip(steps, after)]
    policy.repeat = repeat
    session.flush()
    audit.record(session, actor=actor, where=where, action="escalation_policy.update", target=policy.name,
                 now=now, details=details)
    return policy, True


def set_service_policy(session: Session, *, service_id: int, policy_id: int | None, actor: Actor,
                       where: audit.Where, now: datetime) -> tuple[Service, bool]:
    """Which policy pages for a service's new incidents (None: the 'default' policy)."""
    service = session.get(Service, service_id) if 0 < service_id <= MAX_ID else None
    if service is None:
        raise NotFound(f"service {service_id} does not exist")
    policy = get(session, policy_id) if policy_id is not None else None
    if service.escalation_policy_id == (policy.id if policy else None):
        return service, False
    old = session.get(EscalationPolicy, service.escalation_policy_id) if service.escalation_policy_id else None
    service.escalation_policy_id = policy.id if policy else None
    session.flush()
    audit.record(session, actor=actor, where=where, action="service.set_policy", target=service.name, now=now,
                 details={"from": old.name if old else None, "to": policy.name if policy else None})
    return service, True
