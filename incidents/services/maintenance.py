"""Maintenance windows per service: incidents are recorded and opened, but nobody is paged.

The hold itself is in the escalation engine (engine.escalations._advance asks held_until): an
incident of a service in maintenance keeps its escalation in state "held" until the windows end,
then pages if it is still open and unacknowledged. Overlapping windows simply chain. Creating and
ending windows is written to the audit trail.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from incidents.models import Escalation, Incident, MaintenanceWindow, Service
from incidents.services import audit
from incidents.services.actor import Actor
from incidents.services.errors import Invalid, NotFound

MAX_LENGTH = timedelta(days=7)  # a longer silence is a decommissioning, not maintenance
MAX_AHEAD = timedelta(days=366)
MAX_REASON = 500
HELD = "held"  # the escalation state of an incident whose pages wait for a window's end


def covering_end(windows: list[tuple[datetime, datetime]], now: datetime) -> datetime | None:
    """When maintenance covering `now` ends, following windows that overlap or touch; None when
    no window covers `now`. Pure: (starts_at, ends_at) pairs in, a moment out."""
    until = None
    for starts_at, ends_at in sorted(windows):
        if until is None and starts_at <= now < ends_at:
            until = ends_at
        elif until is not None and starts_at <= until:
            until = max(until, ends_at)
    return until


def held_until(session: Session, *, service_id: int | None, now: datetime) -> datetime | None:
    """When the service's maintenance ends, if it is in maintenance at `now`."""
    if service_id is None:
        return None
    rows = session.execute(select(MaintenanceWindow.starts_at, MaintenanceWindow.ends_at).where(
        MaintenanceWindow.service_id == service_id, MaintenanceWindow.ends_at > now)).all()
    return covering_end([tuple(r) for r in rows], now)


def services_in_maintenance(session: Session, *, now: datetime) -> set[int]:
    """Ids of the services in maintenance now (for the console's badge)."""
    return set(session.scalars(select(MaintenanceWindow.service_id).where(
        MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now)))


def _service(session: Session, name: str) -> Service:
    service = session.scalars(select(Service).where(Service.name == name)).first()
    if service is None:
        raise NotFound(f"there is no service {name!r}")
    return service


def listing(session: Session, *, service_name: str, now: datetime) -> list[MaintenanceWindow]:
    """The service's current and coming windows, soonest first."""
    service = _service(session, service_name)
    return list(session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.service_id == service.id, MaintenanceWindow.ends_at > now)
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)))


def check(*, starts_at: datetime, ends_at: datetime, reason: str, now: datetime) -> str:
    """The cleaned reason, or Invalid naming the field at fault. Pure."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: say why, e.g. 'database upgrade'")
    if len(reason) > MAX_REASON:
        raise Invalid(f"reason: at most {MAX_REASON} characters")
    if ends_at <= starts_at:
        raise Invalid("ends_at: must be after starts_at")
    if ends_at <= now:
        raise Invalid("ends_at: the window would be over already")
    if ends_at - starts_at > MAX_LENGTH:
        raise Invalid(f"ends_at: a window lasts at most {MAX_LENGTH.days} days")
    if starts_at - now > MAX_AHEAD:
        raise Invalid(f"starts_at: plan at most {MAX_AHEAD.days} days ahead")
    return reason


def create(session: Session, *, service_name: str, starts_at: datetime, ends_at: datetime, reason: str,
           actor: Actor, where: audit.Where, now: datetime) -> MaintenanceWindow:
    service = _service(session, service_name)
    reason = check(starts_at=starts_at, ends_at=ends_at, reason=reason, now=now)
    row = MaintenanceWindow(service_id=service.id, starts_at=starts_at, ends_at=ends_at, reason=reason,
                            created_by=actor.label, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, where=where, action="maintenance.create", target=service.name, now=now,
                 details={"window": row.id, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                          "reason": reason})
    return row


def end(session: Session, *, service_name: str, window_id: int, actor: Actor, where: audit.Where,
        now: datetime) -> MaintenanceWindow | None:
    """End a window now (one not yet begun is cancelled: deleted); held pages are looked at again
    at once. Returns the ended window, or None when it was cancelled."""
    service = _service(session, service_name)
    row = session.get(MaintenanceWindow, window_id, with_for_update=True)
    if row is None or row.service_id != service.id or row.ends_at <= now:
        raise NotFound(f"{service.name} has no current or coming maintenance window {window_id}")
    details = {"window": row.id, "starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat()}
    if row.starts_at > now:
        session.delete(row)
        row = None
    else:
        row.ends_at, row.ended_by = now, actor.label
        release(session, service_id=service.id, now=now)
    audit.record(session, actor=actor, where=where, action="maintenance.end" if row else "maintenance.cancel",
                 target=service.name, now=now, details=details)
    return row


def release(session: Session, *, service_id: int, now: datetime) -> None:
    """Held escalations of the service fall due now; the engine pages them unless another window
    still covers the service (it checks again)."""
    held = select(Incident.id).where(Incident.service_id == service_id).scalar_subquery()
    session.execute(update(Escalation).where(Escalation.state == HELD, Escalation.incident_id.in_(held))
                    .values(next_at=now).execution_options(synchronize_session=False))
