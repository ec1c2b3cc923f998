"""Read-only views of incidents for the console: what needs attention now, the triage queue, who
is on call, and one incident's timeline merged with its alerts and pages.

Each question is one query (plus the eager loads it names), so the pages stay fast while an
outage fills the tables.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, func, literal_column, select
from sqlalchemy.orm import Session, joinedload, selectinload

from incidents.domain import rotation as model
from incidents.domain.enums import Status
from incidents.models import (Alert, Customer, Incident, IncidentEvent, Page, Rotation, RotationMember,
                              RotationOverride, Service, SlaPause, User)
from incidents.services import oncall
from incidents.services.errors import NotFound

# Spelled as the partial index ix_incidents_open_id is (see incidents.services.listing).
_OPEN = Incident.status != literal_column(f"'{Status.RESOLVED.value}'")
_EAGER = (joinedload(Incident.customer), joinedload(Incident.service), joinedload(Incident.assignee))


@dataclass
class Capped:
    """Some rows of a longer list: `total` says how many there are in all."""

    rows: list[Incident]
    total: int

    @property
    def more(self) -> bool:
        return self.total > len(self.rows)


def paused_clocks(session: Session, incidents) -> set[int]:
    """Which of these incidents have their SLA clock paused now (one query for a whole list), so
    a list shows "paused" rather than a countdown that is not running."""
    ids = {i.id for i in incidents}
    if not ids:
        return set()
    return set(session.scalars(select(SlaPause.incident_id).where(SlaPause.incident_id.in_(ids),
                                                                SlaPause.ended_at.is_(None))))


def open_by_class(session: Session, *, per_class: int = 25) -> dict[int, Capped]:
    """Open incidents per severity class, unacknowledged first, then by response deadline.

    One query: a window numbers the rows of each class, so a flood of class 3 incidents cannot
    push the class 1 ones off the page.
    """
    ranked = (select(Incident.id,
                     func.row_number().over(partition_by=Incident.severity_class,
                                            order_by=(_triggered_first(), Incident.response_due_at,
                                                      Incident.id)).label("n"),
                     func.count().over(partition_by=Incident.severity_class).label("total"))
              .where(_OPEN).subquery())
    query = (select(Incident, ranked.c.total).join(ranked, ranked.c.id == Incident.id)
             .where(ranked.c.n <= per_class).options(*_EAGER)
             .order_by(Incident.severity_class, ranked.c.n))
    groups: dict[int, Capped] = {}
    for incident, total in session.execute(query).unique():
        groups.setdefault(incident.severity_class, Capped([], total)).rows.append(incident)
    return groups


def unassigned(session: Session, *, limit: int = 20) -> Capped:
    """Open incidents nobody is assigned to, most urgent deadline first."""
    return _first(session, (_OPEN, Incident.assignee_id.is_(None)),
                  (Incident.response_due_at, Incident.id), limit)


def triage_queue(session: Session, *, limit: int = 100) -> Capped:
    """Reports from people that are open and unassigned, oldest first: nobody has looked yet."""
    return _first(session, (_OPEN, Incident.assignee_id.is_(None), Incident.origin == "report"),
                  (Incident.opened_at, Incident.id), limit)


def _first(session: Session, where, order, limit: int) -> Capped:
    """The first `limit` incidents in `order`, and how many match: the ids are picked (and counted)
    first, so the customer, service and assignee are joined to those rows only."""
    picked = (select(Incident.id, func.count().over().label("total"))
              .where(*where).order_by(*order).limit(limit).subquery())
    rows = session.execute(select(Incident, picked.c.total).join(picked, picked.c.id == Incident.id)
                           .options(*_EAGER).order_by(*order)).unique().all()
    return Capped([incident for incident, _ in rows], rows[0].total if rows else 0)


def _triggered_first():
    return case((Incident.status == Status.TRIGGERED.value, 0), else_=1)


# --- on call ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OnCall:
    rotation: str
    timezone: str
    now: model.Shift | None
    now_user: User | None
    next: model.Shift | None
    next_user: User | None


def oncall_board(session: Session, *, at: datetime) -> list[OnCall]:
    """Who is on call at `at` and who takes over next, for every rotation."""
    rotations = session.scalars(select(Rotation).order_by(Rotation.name).options(
        selectinload(Rotation.members).selectinload(RotationMember.user),
        selectinload(Rotation.overrides).selectinload(RotationOverride.user)))
    board = []
    for rotation in rotations:
        users = {m.user.email: m.user for m in rotation.members}
        users.update({o.user.email: o.user for o in rotation.overrides})
        spec, overrides = oncall.spec(rotation), oncall.overrides(rotation)
        current = model.oncall_at(spec, overrides, at)
        following = _next_shift(spec, overrides, at, current)
        board.append(OnCall(rotation.name, rotation.timezone, current,
                            users.get(current.user) if current else None,
                            following, users.get(following.user) if following else None))
    return board


def _next_shift(spec, overrides, at: datetime, current: model.Shift | None) -> model.Shift | None:
    if current is not None:
        return model.oncall_at(spec, overrides, current.end)
    # Nobody now (before the first handoff): the first shift that starts within a year.
    ahead = model.shifts_between(spec, overrides, at, at + 53 * model.WEEK)
    return ahead[0] if ahead else None


# --- one incident's timeline ------------------------------------------------------------------

ALERTS_SHOWN = 50  # a flapping check sends thousands; the newest tell the story
EVENTS_SHOWN = 500  # the newest; a page stays quick however long the incident runs
PAGES_SHOWN = 200


@dataclass
class Entry:
    """One line of the merged timeline: an event, an alert received, or a page sent."""

    at: datetime
    kind: str  # "event", "alert" or "page"
    item: Any
    who: str | None = None  # a page's recipient
    order: int = field(default=0)


@dataclass
class Timeline:
    entries: list[Entry]
    alerts_left_out: int  # older alerts not shown
    cut: bool = False  # older events not shown either


def timeline(session: Session, *, incident: Incident) -> Timeline:
    """The newest events, alerts and pages (with their delivery state), oldest first."""
    events = list(session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                                  .order_by(IncidentEvent.id.desc()).limit(EVENTS_SHOWN)))
    alerts = list(session.scalars(select(Alert).where(Alert.incident_id == incident.id)
                                  .order_by(Alert.id.desc()).limit(ALERTS_SHOWN)))
    pages = session.execute(select(Page, User.name).outerjoin(User, User.id == Page.user_id)
                            .where(Page.incident_id == incident.id)
                            .order_by(Page.id.desc()).limit(PAGES_SHOWN))
    entries = [Entry(e.at, "event", e, order=0) for e in events]
    entries += [Entry(a.received_at, "alert", a, order=1) for a in alerts]
    entries += [Entry(p.created_at, "page", p, who=name or p.address, order=2) for p, name in pages]
    # Within one instant an event ("Paging Ana") comes before the alert and the page, each by id.
    entries.sort(key=lambda e: (e.at, e.order, e.item.id))
    return Timeline(entries, max(0, incident.alert_count - len(alerts)), len(events) == EVENTS_SHOWN)


def get(session: Session, incident_id: int) -> Incident:
    """One incident with its customer, service and assignee, in one query."""
    incident = session.scalars(select(Incident).where(Incident.id == incident_id).options(*_EAGER)).first()
    if incident is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    return incident


# --- what the console's dropdowns offer ---------------------------------------------------------
# Plain rows, not ORM objects: a dropdown needs two columns, and building a hundred objects for it
# costs more than the query on every page view.

def active_users(session: Session) -> list[Row]:
    """Who can be assigned: id, email, name."""
    return list(session.execute(select(User.id, User.email, User.name).where(User.active.is_(True))
                                .order_by(User.name, User.email)))


def everyone(session: Session) -> list[Row]:
    """Who may have been assigned (id, email, name, active): deactivated people keep their old
    incidents, listed last."""
    return list(session.execute(select(User.id, User.email, User.name, User.active)
                                .order_by(User.active.desc(), User.name, User.email)))


def customers(session: Session) -> list[Row]:
    """slug, name."""
    return list(session.execute(select(Customer.slug, Customer.name).order_by(Customer.name, Customer.slug)))


def services(session: Session) -> list[Row]:
    """name, customer (the customer's name)."""
    return list(session.execute(select(Service.name, Customer.name.label("customer"))
                                .join(Customer, Customer.id == Service.customer_id).order_by(Service.name)))
