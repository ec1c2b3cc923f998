"""Monthly SLA and uptime reports per customer, computed by the database (see reports_sql).

A month is a UTC calendar month; an incident belongs to the month it was opened in (as in the
incident list). Response: met when someone responded by the deadline; breached when they responded
late, or not at all and the deadline has passed (`as_of`); otherwise pending. Share met is met out
of met + breached. Uptime per service: 1 - downtime / month length, downtime being the merged
intervals of class-1 "outage" incidents clipped to the month (an outage still open counts up to
`as_of`). Times are seconds; the same data gives the same report on PostgreSQL and SQLite.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain.enums import SEVERITY_CLASSES
from incidents.models import Customer, Incident, Service
from incidents.services import reports_sql
from incidents.services.errors import Invalid, NotFound

DEFAULT_UPTIME_TARGET = 99.98
MONTH = re.compile(r"(\d{4})-(\d{2})")
FIRST_YEAR = 2000


@dataclass(frozen=True)
class ClassFigures:
    severity_class: int
    opened: int = 0
    met: int = 0
    breached: int = 0
    pending: int = 0
    share_met: float | None = None  # percent of met + breached
    mtta_mean: float | None = None  # seconds
    mtta_p90: float | None = None
    mttr_mean: float | None = None
    mttr_p90: float | None = None
    paused_incidents: int = 0  # incidents whose clock was paused at least once
    pauses: int = 0
    paused_seconds: float = 0.0  # every pause's length together (an open pause up to as_of)


@dataclass(frozen=True)
class Breach:
    incident_id: int
    title: str
    severity_class: int
    deadline: datetime
    responded_at: datetime | None  # None: no response
    overrun: float | None  # seconds past the deadline; None while there is no response
    pauses: int = 0
    paused_seconds: float = 0.0


@dataclass(frozen=True)
class IncidentOutcome:
    """One incident of the month and whether its response met the deadline."""
    incident_id: int
    title: str
    severity_class: int
    opened_at: datetime
    deadline: datetime
    responded_at: datetime | None
    outcome: str  # met, breached or pending
    pauses: int = 0
    paused_seconds: float = 0.0


@dataclass(frozen=True)
class ServiceUptime:
    service: str
    downtime: float  # seconds
    uptime: float  # percent
    target: float
    met: bool


@dataclass(frozen=True)
class CustomerReport:
    slug: str
    name: str
    uptime_target: float
    classes: list[ClassFigures]
    breaches: list[Breach] = field(default_factory=list)
    uptime: list[ServiceUptime] = field(default_factory=list)
    incidents: list[IncidentOutcome] | None = None  # listed in one customer's report, not in all


@dataclass(frozen=True)
class Report:
    month: date
    customers: list[CustomerReport]
    total: list[ClassFigures]  # every customer together


def parse_month(text: str | None, *, today: date) -> date:
    """'YYYY-MM' for a month that has begun; Invalid otherwise."""
    found = MONTH.fullmatch((text or "").strip())
    if not found:
        raise Invalid(f"month: expected YYYY-MM, e.g. {today:%Y-%m}")
    year, month = int(found[1]), int(found[2])
    if not 1 <= month <= 12:
        raise Invalid(f"month: {month:02d} is not a month (01 to 12)")
    if year < FIRST_YEAR:
        raise Invalid(f"month: years before {FIRST_YEAR} have no incidents")
    if (year, month) > (today.year, today.month):
        raise Invalid(f"month: {year:04d}-{month:02d} has not begun")
    return date(year, month, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=timezone.utc)
    after = (month.year + month.month // 12, month.month % 12 + 1)
    return start, datetime(*after, 1, tzinfo=timezone.utc)


def sla_report(session: Session, *, customer_slug: str | None, month: date,
               as_of: datetime | None = None) -> Report:
    """The month's report for one customer (by slug; NotFound if unknown) or for all."""
    as_of = as_of or clock.now()
    start, end = month_bounds(month)
    customers = _customers(session, customer_slug)
    ids = [c.id for c in customers]
    conditions = [Incident.opened_at >= start, Incident.opened_at < end]
    conditions.append(Incident.customer_id == ids[0] if customer_slug is not None
                      else Incident.customer_id.is_not(None))
    rows = reports_sql.class_rows(session, conditions, by_customer=True, as_of=as_of)
    pauses = {(r["customer_id"], r["severity_class"]): r
              for r in reports_sql.pause_rows(session, conditions, by_customer=True, as_of=as_of)}
    per_customer: dict[int, dict[int, ClassFigures]] = {}
    for row in rows:
        per_customer.setdefault(row["customer_id"], {})[row["severity_class"]] = _figures(
            row, pauses.get((row["customer_id"], row["severity_class"])))
    breaches: dict[int, list[Breach]] = {}
    for row in reports_sql.breach_rows(session, conditions, as_of=as_of):
        breaches.setdefault(row.customer_id, []).append(Breach(
            row.id, row.title, row.severity_class, row.response_due_at, row.responded_at,
            float(row.overrun) if row.overrun is not None else None, row.pauses, float(row.paused)))
    downtime = reports_sql.downtime_rows(session, customer_ids=ids if customer_slug else None,
                                         start=start, end=min(end, max(as_of, start)))
    reports = [_customer(c, per_customer.get(c.id, {}), breaches.get(c.id, []), downtime, start, end)
               for c in customers]
    if customer_slug is not None:
        reports[0] = replace(reports[0], incidents=_outcomes(session, conditions, as_of))
        total = reports[0].classes
    else:
        by_class = reports_sql.class_rows(session, conditions, by_customer=False, as_of=as_of)
        paused = {r["severity_class"]: r for r in
                  reports_sql.pause_rows(session, conditions, by_customer=False, as_of=as_of)}
        total = _all_classes({r["severity_class"]: _figures(r, paused.get(r["severity_class"]))
                              for r in by_class})
    return Report(month=month, customers=reports, total=total)


@dataclass(frozen=True)
class _Customer:
    id: int
    slug: str
    name: str
    uptime_target: float | None
    services: list[tuple[int, str]]  # (id, name) by name


def _customers(session: Session, slug: str | None) -> list[_Customer]:
    """The customers reported on, by slug, with their services (only the columns needed)."""
    query = select(Customer.id, Customer.slug, Customer.name, Customer.uptime_target).order_by(Customer.slug)
    found = session.execute(query.where(Customer.slug == slug) if slug is not None else query).all()
    if slug is not None and not found:
        raise NotFound(f"customer {slug!r} does not exist")
    services: dict[int, list[tuple[int, str]]] = {}
    service_query = select(Service.customer_id, Service.id, Service.name).order_by(Service.name)
    if slug is not None:
        service_query = service_query.where(Service.customer_id == found[0].id)
    for customer_id, service_id, name in session.execute(service_query):
        services.setdefault(customer_id, []).append((service_id, name))
    return [_Customer(r.id, r.slug, r.name, r.uptime_target, services.get(r.id, [])) for r in found]


def _customer(customer: _Customer, figures: dict[int, ClassFigures], breaches: list[Breach],
              downtime: dict[int, float], start: datetime, end: datetime) -> CustomerReport:
    target = customer.uptime_target if customer.uptime_target is not None else DEFAULT_UPTIME_TARGET
    length = (end - start).total_seconds()
    uptime = []
    for service_id, name in customer.services:
        down = downtime.get(service_id, 0.0)
        percent = round(100 * (1 - down / length), 4)
        uptime.append(ServiceUptime(name, down, percent, target, percent >= target))
    return CustomerReport(customer.slug, customer.name, target, _all_classes(figures), breaches, uptime)


def _all_classes(figures: dict[int, ClassFigures]) -> list[ClassFigures]:
    return [figures.get(k, ClassFigures(k)) for k in SEVERITY_CLASSES]


def _outcomes(session: Session, conditions: list, as_of: datetime) -> list[IncidentOutcome]:
    return [IncidentOutcome(r.id, r.title, r.severity_class, r.opened_at, r.response_due_at, r.responded_at,
                            r.outcome, r.pauses, float(r.paused))
            for r in reports_sql.incident_rows(session, conditions, as_of=as_of)]


def _figures(row: dict, paused: dict | None = None) -> ClassFigures:
    decided = row["met"] + row["breached"]
    paused = paused or {"paused_incidents": 0, "pauses": 0, "paused_seconds": 0}
    return ClassFigures(
        severity_class=row["severity_class"], opened=row["opened"], met=row["met"],
        breached=row["breached"], pending=row["opened"] - decided,
        share_met=round(100 * row["met"] / decided, 2) if decided else None,
        mtta_mean=_round(row["mtta_mean"]), mtta_p90=_round(row["mtta_p90"]),
        mttr_mean=_round(row["mttr_mean"]), mttr_p90=_round(row["mttr_p90"]),
        paused_incidents=paused["paused_incidents"], pauses=paused["pauses"],
        paused_seconds=float(paused["paused_seconds"] or 0))


def _round(value) -> float | None:
    """One decimal of a second: enough, and the same from PostgreSQL's numeric as SQLite's float."""
    return None if value is None else round(float(value), 1)
