"""The SLA sweep: warnings at shares of the response time, and the breach at the deadline.

Database-driven like the escalation sweep: `incidents.sla_check_at` says when an incident must next
be looked at (the next warning or the deadline; NULL once answered, resolved, breached or while
paused), rows are locked with SKIP LOCKED on PostgreSQL, and each change happens in one
transaction with its pages, so a restart loses nothing and a replayed tick sends nothing twice.

Warnings and breach notices are ordinary outbox pages (the same reply code and delivery as an
escalation page, their text led by what they are: "Vigil SLA warning #12 C1 acme: ... Respond by
10:30", "Vigil SLA BREACHED #12 ...: ... Was due 10:30") under step markers no policy step can have: WARNING_STEP - i for the i-th warning, BREACH_STEP for the admins' notice. The unique
key (incident, step, cycle, recipient, channel) then makes each exactly once per person and
channel, and the `sla_warned` counter, moved in the same transaction, keeps the sweep from
looking for them again.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain.enums import Role, Source, Status
from incidents.domain import page_text
from incidents.domain.escalation import Recipient, Step
from incidents.domain.response_clock import ResponseClock, next_check
from incidents.models import Escalation, EscalationPolicy, Incident, User
from incidents.services import after_commit, policy, sla_clock, timeline
from incidents.services.actor import Actor
from incidents.services.engine import escalations, outbox, targets

BATCH = 100
TRIAGE_ROTATION = "triage"  # whose on-call person hears of every warning
CHANNELS = ("sms", "slack")
WARNING_STEP = page_text.SLA_WARNING_STEP  # -10: the first warning, -11: the second, ...
BREACH_STEP = page_text.SLA_BREACH_STEP
SYSTEM = Actor.system()


def run(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Look at up to `limit` incidents whose SLA check is due; returns how many."""
    query = (select(Incident)
             .where(Incident.sla_check_at <= now, Incident.responded_at.is_(None),
                    Incident.breached_at.is_(None), Incident.status != Status.RESOLVED.value)
             .order_by(Incident.sla_check_at).limit(limit).with_for_update(skip_locked=True))
    incidents = list(session.scalars(query))
    settings = policy.sla_settings(session) if incidents else None  # once per batch
    for incident in incidents:
        check(session, incident, now=now, settings=settings)
    return len(incidents)


def check(session: Session, incident: Incident, *, now: datetime,
          settings: policy.SlaSettings | None = None) -> None:
    """Warn at each configured share not yet warned of (`sla_warnings`, read now: a change by
    `vigil apply` counts from the next look), or breach at the deadline."""
    settings = settings or policy.sla_settings(session)
    fractions = settings.warnings
    clock = sla_clock.clock_of(session, incident, settings)
    if clock.paused(now):
        incident.sla_check_at = None
        return
    if clock.breached(now):
        incident.sla_warned = max(incident.sla_warned, len(fractions))
        _breach(session, incident, clock, now)
        return
    used = clock.fraction(now)
    while incident.sla_warned < len(fractions) and used >= fractions[incident.sla_warned]:
        _warn(session, incident, fractions[incident.sla_warned], incident.sla_warned, now)
        incident.sla_warned += 1
    incident.sla_check_at = next_check(clock, warned=incident.sla_warned, fractions=fractions)


def _warn(session: Session, incident: Incident, fraction: float, index: int, now: datetime) -> None:
    share = f"{fraction * 100:g}"
    people = _current_targets(session, incident, now) + _triage(session, now)
    reached = _notify(session, incident, WARNING_STEP - index, people, now)
    timeline.record(session, incident_id=incident.id, kind="sla_warning", actor=SYSTEM, source=Source.SYSTEM,
                    message=f"SLA warning: {share}% of the response time used "
                            f"(due {incident.response_due_at:%Y-%m-%d %H:%M} UTC){_told(reached)}",
                    data={"share": fraction, "warned": reached})


def _breach(session: Session, incident: Incident, clock: ResponseClock, now: datetime) -> None:
    deadline = clock.deadline()
    incident.breached_at, incident.sla_check_at, incident.updated_at = deadline, None, now
    reached = _notify(session, incident, BREACH_STEP, _admins(session), now)
    timeline.record(session, incident_id=incident.id, kind="sla_breached", actor=SYSTEM, source=Source.SYSTEM,
                    message=f"SLA breached: no response by {deadline:%Y-%m-%d %H:%M} UTC{_told(reached)}",
                    data={"deadline": deadline.isoformat(), "told": reached})
    row = session.get(Escalation, incident.id, with_for_update=True)
    # The next step fires now, unless one already fired at or after the deadline (or one is due
    # this very tick, which the escalation sweep runs).
    if (row is not None and row.state in escalations.ACTIVE and row.next_at is not None
            and row.next_at > now and row.updated_at < deadline):
        escalations.jump(session, incident=incident, actor=SYSTEM, source=Source.SYSTEM, now=now)


def _current_targets(session: Session, incident: Incident, now: datetime) -> list[Recipient]:
    """Whoever the incident's escalation pages now (its first step before any was paged)."""
    row = session.get(Escalation, incident.id)
    if row is None:
        return []
    steps = escalations.to_policy(session.get(EscalationPolicy, row.policy_id)).steps
    if not steps:
        return []
    return targets.resolve(session, steps[min(max(row.step, 0), len(steps) - 1)], now)


def _triage(session: Session, now: datetime) -> list[Recipient]:
    return targets.resolve(session, Step((f"rotation:{TRIAGE_ROTATION}",), CHANNELS, timedelta(0)), now)


def _admins(session: Session) -> list[Recipient]:
    users = session.scalars(select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
                            .order_by(User.id))
    return [Recipient(f"user:{u.id}", u.id, u.name) for u in users]


def _notify(session: Session, incident: Incident, step: int, people: list[Recipient],
            now: datetime) -> list[str]:
    """One outbox page per person (once each) on every channel they have; who was reached."""
    reached, seen = [], set()
    for person in people:
        if person.key in seen:
            continue
        seen.add(person.key)
        addresses = _addresses(session, person)
        code = outbox.reply_code(session, incident.id, person.user_id) if person.user_id else None
        for channel, address in addresses.items():
            # outbox._insert is the outbox's one INSERT ... ON CONFLICT DO NOTHING on uq_pages_once.
            page_id = outbox._insert(session, incident.id, step, 0, person, channel, address,
                                     code if channel == "sms" else None, now)
            if page_id:
                after_commit.enqueue(session, "pages.deliver", page_id)
        if addresses:
            reached.append(f"{person.label} by {' and '.join(outbox.CHANNEL_NAMES[c] for c in addresses)}")
    return reached


def _addresses(session: Session, person: Recipient) -> dict[str, str]:
    if person.user_id is None:
        return {"slack": person.key.split(":", 1)[1]}
    found = outbox.user_addresses(session.get(User, person.user_id))
    return {channel: found[channel] for channel in CHANNELS if found.get(channel)}


def _told(reached: list[str]) -> str:
    return f"; told {', '.join(reached)}" if reached else "; nobody could be reached"
