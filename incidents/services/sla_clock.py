"""The response clock of an incident: pausing and resuming it, the first response that stops it,
and keeping `response_due_at` and `sla_check_at` (the SLA sweep's due time) in step with it.

A pause is for time the team cannot act (e.g. waiting on the customer): the deadline moves by the
paused time that the clock would have counted. Only a running clock can be paused: not one that a
person has already answered, a resolved or breached incident's, or one that is paused already.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain.enums import Source, Status
from incidents.domain.response_clock import PauseError, ResponseClock, next_check
from incidents.models import Incident, SlaPause
from incidents.services import policy, timeline
from incidents.services.actor import Actor
from incidents.services.errors import Conflict, Invalid
from incidents.services.incidents import get

MAX_REASON = 500
RESOLVED_PAUSE = "resolved until reopened"


def pause(session: Session, *, incident_id: int, reason: str, actor: Actor, source: Source,
          now: datetime) -> Incident:
    why = (reason or "").strip()
    if not why:
        raise Invalid("reason: say why the clock stops, e.g. waiting on the customer")
    if len(why) > MAX_REASON:
        raise Invalid(f"reason: at most {MAX_REASON} characters")
    incident = get(session, incident_id, for_update=True)
    _require_running_clock(incident)
    rows = _pauses(session, incident.id)
    if rows and rows[-1].ended_at is None:
        raise Conflict(f"incident {incident_id}'s SLA clock is already paused "
                       f"(since {rows[-1].started_at:%Y-%m-%d %H:%M} UTC)")
    _check(incident, [*_spans(rows), (now, None)])
    session.add(SlaPause(incident_id=incident.id, started_at=now, ended_at=None, reason=why,
                         actor=actor.label))
    incident.updated_at = now
    timeline.record(session, incident_id=incident.id, kind="sla_paused", actor=actor, source=source,
                    message=f"SLA clock paused: {why}", data={"reason": why})
    session.flush()
    refresh(session, incident, now=now)
    return incident


def resume(session: Session, *, incident_id: int, actor: Actor, source: Source, now: datetime) -> Incident:
    incident = get(session, incident_id, for_update=True)
    rows = _pauses(session, incident.id)
    if not rows or rows[-1].ended_at is not None:
        raise Conflict(f"incident {incident_id}'s SLA clock is not paused; there is nothing to resume")
    current = rows[-1]
    _check(incident, [*_spans(rows[:-1]), (current.started_at, now)])
    current.ended_at = now
    length = now - current.started_at
    incident.updated_at = now
    timeline.record(session, incident_id=incident.id, kind="sla_resumed", actor=actor, source=source,
                    message=f"SLA clock resumed after {duration_text(length)}",
                    data={"paused_seconds": int(length.total_seconds()), "reason": current.reason})
    session.flush()
    refresh(session, incident, now=now)
    return incident


def stop(session: Session, *, incident: Incident, actor: Actor, now: datetime) -> None:
    """A response or a resolution: the first one by a person is the response; either way the
    clock stops (an open pause ends) and the sweep no longer looks at the incident."""
    if is_person(actor) and incident.responded_at is None:
        incident.responded_at = now
    if incident.responded_at is None and incident.status != Status.RESOLVED:
        return
    incident.sla_check_at = None
    current = open_pause(session, incident.id)
    if current is not None:
        current.ended_at = max(now, current.started_at)


def after_reopen(session: Session, *, incident: Incident, resolved_at: datetime, resolved_by: str,
                 now: datetime) -> str:
    """The response clock of a reopened incident (already TRIGGERED again); says how, for the timeline.

    - A person had responded: the response stands and the clock stays stopped (the deadline was met
      or not when they answered; reopening does not undo it).
    - It had breached: the breach stands.
    - Nobody had responded (e.g. the monitor auto-resolved it): the clock runs again, counted from
      the opening as before, except the time it spent resolved, which is recorded as a pause
      ("resolved until reopened"). Nobody was expected to act while it was resolved, so reopening
      a day later does not breach at once with a deadline in the past; warnings already sent are
      not sent again.
    """
    if incident.responded_at is not None:
        return f"; the response at {incident.responded_at:%Y-%m-%d %H:%M} UTC stands, so the SLA clock stays stopped"
    if incident.breached_at is not None:
        return f"; the SLA breach at {incident.breached_at:%Y-%m-%d %H:%M} UTC stands"
    # A pause open at the resolution was ended then (stop), a moment after resolved_at at most.
    start = max([resolved_at, *(row.ended_at for row in _pauses(session, incident.id) if row.ended_at)])
    if now > start:
        session.add(SlaPause(incident_id=incident.id, started_at=start, ended_at=now,
                             reason=RESOLVED_PAUSE, actor=resolved_by[:200]))
        session.flush()
    refresh(session, incident, now=now)
    return (f"; the SLA clock runs again without the {duration_text(now - resolved_at)} it was resolved: "
            f"respond by {incident.response_due_at:%Y-%m-%d %H:%M} UTC")


def refresh(session: Session, incident: Incident, *, now: datetime) -> ResponseClock:
    """Recompute the deadline from the opening time, the class and the pauses (an open pause
    counts as ending now), and when the sweep must next look (never while paused or stopped)."""
    settings = policy.sla_settings(session)
    spans = _spans(_pauses(session, incident.id))
    clock = _clock(session, incident, spans, settings)
    due = clock.deadline()
    if due is None:
        closed = [(start, end or max(now, start)) for start, end in spans]
        due = _clock(session, incident, closed, settings).deadline()
    incident.response_due_at = due
    stopped = (incident.responded_at is not None or incident.status == Status.RESOLVED
               or incident.breached_at is not None)
    incident.sla_check_at = None if stopped else next_check(clock, warned=incident.sla_warned,
                                                            fractions=settings.warnings)
    return clock


def open_pause(session: Session, incident_id: int) -> SlaPause | None:
    return session.scalars(select(SlaPause).where(
        SlaPause.incident_id == incident_id, SlaPause.ended_at.is_(None))).first()


def clock_of(session: Session, incident: Incident, settings: policy.SlaSettings | None = None) -> ResponseClock:
    return _clock(session, incident, _spans(_pauses(session, incident.id)), settings)


def is_person(actor: Actor) -> bool:
    """A signed-in user or an API key's holder; not the system, an integration or the CLI."""
    return actor.user_id is not None or actor.label.startswith("api key ")


def duration_text(length: timedelta) -> str:
    """1h 20m; 45m; 2d 3h; under a minute: 0m."""
    minutes = int(length.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours) + [f"{minutes}m"] * bool(minutes)
    return " ".join(parts[:2]) or "0m"


def _require_running_clock(incident: Incident) -> None:
    if incident.status == Status.RESOLVED:
        raise Conflict(f"incident {incident.id} is resolved; its SLA clock has stopped")
    if incident.responded_at is not None:
        raise Conflict(f"incident {incident.id} was responded to at {incident.responded_at:%Y-%m-%d %H:%M} "
                       "UTC; its SLA clock has stopped")
    if incident.breached_at is not None:
        raise Conflict(f"incident {incident.id} breached its SLA at {incident.breached_at:%Y-%m-%d %H:%M} "
                       "UTC; a pause cannot undo that")


def _check(incident: Incident, spans) -> None:
    try:
        ResponseClock.build(opened_at=incident.opened_at, response_time=timedelta(0), pauses=spans)
    except PauseError as error:
        raise Invalid(f"pause: {error}") from None


def _clock(session: Session, incident: Incident, spans, settings: policy.SlaSettings | None = None) -> ResponseClock:
    return policy.response_clock(session, customer=incident.customer, severity_class=incident.severity_class,
                                 opened_at=incident.opened_at, pauses=spans, settings=settings)


def _pauses(session: Session, incident_id: int) -> list[SlaPause]:
    return list(session.scalars(select(SlaPause).where(SlaPause.incident_id == incident_id)
                                .order_by(SlaPause.started_at, SlaPause.id)))


def _spans(rows) -> list[tuple[datetime, datetime | None]]:
    return [(row.started_at, row.ended_at) for row in rows]
