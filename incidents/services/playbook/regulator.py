"""The regulator's clock on a breach incident: GDPR gives 72 hours from awareness to notify the
supervisory authority, tracked beside the incident's response deadline.

Database-driven like the SLA sweep (engine/sla_sweep.py): `regulator_clocks.check_at` says when a
clock must next be looked at (the next warning, then the deadline; NULL once the authority was
notified, the deadline passed, or the incident is no longer a breach), rows are locked with SKIP
LOCKED on PostgreSQL, and each change is one transaction with its pages.

The admins are warned with 24 hours and 6 hours left (domain.playbook.REGULATOR_WARNINGS: fixed
times, since the window is fixed by law) and paged again when the deadline passes. The pages are
ordinary outbox pages under step markers no other page has (page_text.REGULATOR_WARNING_STEP - i,
REGULATOR_OVERDUE_STEP), so each goes out once per person and channel and says what it is first:
"Vigil GDPR deadline in 24 h #12 C1 acme: ...".
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain import page_text
from incidents.domain.enums import Source
from incidents.domain.playbook import (BREACH_CATEGORY, REGULATOR_WARNINGS, hours_left, regulator_check_at,
                                       regulator_due, regulator_warning)
from incidents.models import Incident, RegulatorClock
from incidents.services import audit, timeline
from incidents.services.actor import Actor
from incidents.services.engine import sla_sweep
from incidents.services.errors import Conflict, Invalid, NotFound

BATCH = 100
WARNING_STEP = page_text.REGULATOR_WARNING_STEP
OVERDUE_STEP = page_text.REGULATOR_OVERDUE_STEP
MAX_REFERENCE = 200
SYSTEM = Actor.system()


def open(session: Session, *, incident: Incident, aware_at: datetime, now: datetime) -> RegulatorClock:
    """Start the clock for a breach incident (once: a second call keeps the first awareness time,
    and re-arms a clock that stood down when the incident stopped being a breach)."""
    row = session.get(RegulatorClock, incident.id, with_for_update=True)
    if row is not None:
        if row.check_at is None and row.notified_at is None and row.overdue_at is None:
            row.check_at = regulator_check_at(row.due_at, row.warned)
            _record_opened(session, incident, row, "Regulator's deadline tracked again")
        return row
    due = regulator_due(aware_at)
    row = RegulatorClock(incident_id=incident.id, aware_at=aware_at, due_at=due, warned=0,
                         check_at=regulator_check_at(due, 0))
    session.add(row)
    session.flush()
    _record_opened(session, incident, row, "Regulator's deadline (GDPR, 72 h)")
    return row


def _record_opened(session: Session, incident: Incident, row: RegulatorClock, what: str) -> None:
    timeline.record(session, incident_id=incident.id, kind="regulator_clock", actor=SYSTEM, source=Source.SYSTEM,
                    message=f"{what}: notify the supervisory authority by {_utc(row.due_at)}",
                    data={"aware_at": row.aware_at.isoformat(), "due_at": row.due_at.isoformat()})


def get(session: Session, incident_id: int) -> RegulatorClock:
    """The incident's clock; NotFound when there is no such incident, Conflict when it has none."""
    if session.get(Incident, incident_id) is None:
        raise NotFound(f"incident {incident_id} does not exist")
    row = session.get(RegulatorClock, incident_id)
    if row is None:
        raise Conflict(f"incident {incident_id} is not a security breach: it has no regulator's deadline")
    return row


def sweep(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Look at up to `limit` clocks whose check is due; returns how many."""
    query = (select(RegulatorClock).where(RegulatorClock.check_at <= now)
             .order_by(RegulatorClock.check_at).limit(limit).with_for_update(skip_locked=True))
    rows = list(session.scalars(query))
    for row in rows:
        check(session, row, now=now)
    return len(rows)


def check(session: Session, row: RegulatorClock, *, now: datetime) -> None:
    """Page the admins of the deadline passing, or warn them of the latest warning time reached."""
    incident = session.get(Incident, row.incident_id)
    if incident.category != BREACH_CATEGORY:
        row.check_at = None  # reclassified: no breach, nothing to report (on_breach re-arms it)
        timeline.record(session, incident_id=incident.id, kind="regulator_clock", actor=SYSTEM,
                        source=Source.SYSTEM, message="Regulator's deadline no longer tracked: "
                                                      f"the incident is no longer a {BREACH_CATEGORY}")
        return
    if now >= row.due_at:
        _overdue(session, incident, row, now)
        return
    index = regulator_warning(row.due_at, row.warned, now)
    if index is not None:
        _warn(session, incident, row, index, now)
        row.warned = index + 1
    row.check_at = regulator_check_at(row.due_at, row.warned)


def _warn(session: Session, incident: Incident, row: RegulatorClock, index: int, now: datetime) -> None:
    left = hours_left(REGULATOR_WARNINGS[index])
    reached = sla_sweep._notify(session, incident, WARNING_STEP - index, sla_sweep._admins(session), now)
    timeline.record(session, incident_id=incident.id, kind="regulator_warning", actor=SYSTEM, source=Source.SYSTEM,
                    message=f"Regulator's deadline in {left}: notify the supervisory authority by "
                            f"{_utc(row.due_at)}{sla_sweep._told(reached)}",
                    data={"left": left, "due_at": row.due_at.isoformat(), "told": reached})


def _overdue(session: Session, incident: Incident, row: RegulatorClock, now: datetime) -> None:
    row.overdue_at, row.check_at = row.due_at, None
    row.warned = max(row.warned, len(REGULATOR_WARNINGS))
    reached = sla_sweep._notify(session, incident, OVERDUE_STEP, sla_sweep._admins(session), now)
    timeline.record(session, incident_id=incident.id, kind="regulator_overdue", actor=SYSTEM, source=Source.SYSTEM,
                    message=f"Regulator's deadline passed at {_utc(row.due_at)} with no notification "
                            f"of the supervisory authority recorded{sla_sweep._told(reached)}",
                    data={"due_at": row.due_at.isoformat(), "told": reached})


def notified(session: Session, *, incident_id: int, reference: str, actor: Actor, source: Source,
             now: datetime, where: audit.Where | None = None) -> RegulatorClock:
    """Record that the supervisory authority was notified (with its case reference): the clock stops.
    Also after the deadline, which stays on record as missed."""
    reference = (reference or "").strip()
    if not reference:
        raise Invalid("reference: give the authority's case reference (or how it was notified)")
    if len(reference) > MAX_REFERENCE:
        raise Invalid(f"reference: at most {MAX_REFERENCE} characters")
    get(session, incident_id)
    row = session.get(RegulatorClock, incident_id, with_for_update=True)
    if row.notified_at is not None:
        raise Conflict(f"the authority was already recorded as notified for incident {incident_id} "
                       f"(reference {row.reference!r}, by {row.notified_by})")
    row.notified_at, row.notified_by, row.reference, row.check_at = now, actor.label, reference, None
    late = f", {_late(now - row.due_at)} after the deadline" if now > row.due_at else ""
    timeline.record(session, incident_id=incident_id, kind="regulator_notified", actor=actor, source=source,
                    message=f"Supervisory authority notified (reference {reference}), recorded by "
                            f"{actor.label}{late}",
                    data={"reference": reference, "due_at": row.due_at.isoformat()})
    audit.record(session, actor=actor, where=where or audit.Where(str(source)), action="regulator.notified",
                 target=f"incident {incident_id}", now=now,
                 details={"reference": reference, "due_at": row.due_at.isoformat(), "late": bool(late)})
    return row


def _utc(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _late(by) -> str:
    minutes = int(by.total_seconds() // 60)
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"
