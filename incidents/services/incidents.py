"""Opening incidents: from alerts (deduplicated by the database) and from people's reports.

Alert intake is Vigil's hottest path (a flapping check can fire hundreds of times a second), so a
duplicate alert is counted with prebuilt Core statements rather than ORM objects, and on PostgreSQL
by one statement that bumps the open incident and stores the alert (see attach_alert).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert as core_insert, literal_column, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from incidents import clock
from incidents.db import DriverStatement, UTCDateTime
from incidents.domain.classification import Classification, Subject, classify
from incidents.domain.response_clock import next_check
from incidents.domain.enums import Source, Status
from incidents.domain.playbook import BREACH_CATEGORY
from incidents.models import Alert, Customer, Incident, Service
from incidents.models.incident import OPEN
from incidents.services import policy, timeline
from incidents.services.actor import Actor
from incidents.services.engine import escalations
from incidents.services.errors import Invalid, NotFound


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """What opening an incident needs of a customer (intake reads it without ORM objects)."""

    id: int
    sla_minutes: dict[str, Any]
    sla_clock: dict[str, Any] | None = None  # None: not read; policy.clock_kind reads it


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """What opening an incident from an alert needs of a service."""

    id: int
    name: str
    auto_resolve: bool
    customer: CustomerRef | None


# "Open" is written into the SQL, not bound: a prepared statement's generic plan can then use the
# partial unique index on open incidents instead of scanning every incident of the service.
_NOT_RESOLVED = literal_column(f"'{Status.RESOLVED.value}'")
_incidents = Incident.__table__
_alerts = Alert.__table__
ALERT_COLUMNS = ("integration_id", "service_id", "incident_id", "received_at", "action", "dedup_key",
                 "summary", "source", "severity", "details", "raw")

# Count one more alert on the open incident for (service, dedup key); nothing when none is open.
_BUMP = (
    update(_incidents)
    .where(_incidents.c.service_id == bindparam("b_service_id"),
           _incidents.c.dedup_key == bindparam("b_dedup_key"),
           _incidents.c.status != _NOT_RESOLVED)
    .values(alert_count=_incidents.c.alert_count + literal_column("1"),
            last_alert_at=bindparam("b_now", type_=UTCDateTime()),
            updated_at=bindparam("b_now", type_=UTCDateTime()))
    .returning(_incidents.c.id)
)
_STORE_ALERT = core_insert(_alerts)


def _attach_statement():
    """PostgreSQL: bump and store the alert in one statement (a data-modifying CTE)."""
    bumped = _BUMP.cte("bumped")
    values = [bumped.c.id if name == "incident_id" else
              bindparam("alert_" + name, type_=_alerts.c[name].type) for name in ALERT_COLUMNS]
    return (core_insert(_alerts)
            .from_select(list(ALERT_COLUMNS), select(*values).select_from(bumped))
            .returning(_alerts.c.incident_id))


_ATTACH_PG = DriverStatement(_attach_statement())


def get(session: Session, incident_id: int, *, for_update: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    incident = session.scalars(query.with_for_update() if for_update else query).first()
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist")
    return incident


def find_open(session: Session, *, service_id: int, dedup_key: str) -> Incident | None:
    return session.scalars(
        select(Incident).where(Incident.service_id == service_id, Incident.dedup_key == dedup_key,
                               Incident.status != _NOT_RESOLVED).with_for_update()
    ).first()


def attach_alert(db: Session | PoolProxiedConnection, *, service_id: int, dedup_key: str,
                 alert: dict[str, Any], now: datetime) -> int | None:
    """Count an alert on the open incident for (service, dedup key) and store its row (`alert`:
    the alerts columns but incident_id): the incident's id, or None, writing nothing, when no
    incident is open.

    `db` is the request's session, or on PostgreSQL a connection in autocommit
    (incidents.web.session.autocommit_connection): there one statement does it all, atomically.
    """
    key = {"b_service_id": service_id, "b_dedup_key": dedup_key, "b_now": now}
    if isinstance(db, Session):
        db.flush()  # Core statements do not autoflush: earlier ORM changes must be visible
        if db.get_bind().dialect.name != "postgresql":
            incident_id = db.connection().execute(_BUMP, key).scalar()
            if incident_id is not None:
                store_alert(db, alert, incident_id=incident_id)
            return incident_id
    params = {"alert_" + name: value for name, value in alert.items()}
    params.update(key)
    row = _ATTACH_PG.first(db, params)
    return None if row is None else row[0]


def store_alert(session: Session, alert: dict[str, Any], *, incident_id: int | None) -> None:
    """Store an alert's row (`alert`: the alerts columns but incident_id)."""
    session.flush()
    session.connection().execute(_STORE_ALERT, {**alert, "incident_id": incident_id})


def open_or_attach(session: Session, *, service: Service | ServiceRef, dedup_key: str,
                   subject: Subject, actor: Actor) -> tuple[int, bool]:
    """The open incident for (service, dedup key), created if there is none: (id, created).

    Duplicates only bump the alert count. Two alerts racing to create the same incident meet at
    the unique index on open incidents, and the loser's insert becomes an update of the winner's.
    """
    session.flush()
    bumped = session.connection().execute(
        _BUMP, {"b_service_id": service.id, "b_dedup_key": dedup_key, "b_now": clock.now()}).first()
    if bumped:
        return bumped.id, False
    return open_from_alert(session, service=service, dedup_key=dedup_key, subject=subject, actor=actor)


def open_from_alert(session: Session, *, service: Service | ServiceRef, dedup_key: str,
                    subject: Subject, actor: Actor) -> tuple[int, bool]:
    """Open an incident for (service, dedup key) once no open one was found: (id, created).

    An alert racing in meanwhile meets this one at the unique index on open incidents, and the
    loser's insert becomes an update (one more alert) of the winner's incident.
    """
    now = clock.now()
    result = classify(subject, policy.load_rules(session))
    values = _new_incident_values(session, subject, result, customer=service.customer, now=now)
    values.update(service_id=service.id, dedup_key=dedup_key, origin="alert", alert_count=1,
                  last_alert_at=now)
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)
    row = session.execute(
        insert(Incident).values(**values)
        .on_conflict_do_update(
            index_elements=["service_id", "dedup_key"], index_where=text(OPEN),
            set_={"alert_count": Incident.alert_count + 1, "last_alert_at": now, "updated_at": now})
        .returning(Incident.id, Incident.alert_count)
    ).one()
    created = row.alert_count == 1
    if created:
        _record_opened(session, row.id, result, actor, f"from an alert on {service.name}")
        escalations.start(session, incident_id=row.id, service_id=service.id, now=now)
        if result.category == BREACH_CATEGORY:  # the one cost to every other incident
            _on_breach(session, session.get(Incident, row.id), now)
    return row.id, created


def report(session: Session, *, title: str, description: str, customer_slug: str,
           service_name: str | None = None, category: str | None = None, actor: Actor,
           source: Source) -> Incident:
    """A problem reported by a person (customer or engineer)."""
    customer = session.scalars(select(Customer).where(Customer.slug == customer_slug)).first()
    if customer is None:
        raise Invalid(f"customer: unknown customer {customer_slug!r}")
    service = None
    if service_name:
        service = session.scalars(select(Service).where(Service.name == service_name)).first()
        if service is None or service.customer_id != customer.id:
            raise Invalid(f"service: {customer_slug!r} has no service {service_name!r}")
    rules = policy.load_rules(session)
    if category and category not in {r.category for r in rules}:
        known = ", ".join(sorted({r.category for r in rules})) or "none configured"
        raise Invalid(f"category: unknown category {category!r}; known: {known}")
    result = classify(Subject(title=title, description=description, category=category), rules)
    incident = Incident(**_new_incident_values(session, Subject(title, description), result,
                                               customer=customer, now=clock.now()),
                        service_id=service.id if service else None, origin="report", alert_count=0)
    session.add(incident)
    session.flush()
    _record_opened(session, incident.id, result, actor, f"reported by {actor.label}", source)
    escalations.start(session, incident_id=incident.id, service_id=incident.service_id, now=incident.opened_at)
    if incident.category == BREACH_CATEGORY:
        _on_breach(session, incident, incident.opened_at)
    return incident


def _on_breach(session: Session, incident: Incident, now: datetime) -> None:
    """The regulator's clock, and the playbook when configured (imported here: the hook's modules
    import this one)."""
    from incidents.services import breach_hooks

    breach_hooks.on_breach(session, incident=incident, now=now)


def _new_incident_values(session: Session, subject: Subject, result: Classification, *,
                         customer: Customer | CustomerRef | None, now) -> dict:
    return {
        "title": subject.title[:500],
        "description": subject.description,
        "status": Status.TRIGGERED.value,
        "severity_class": result.severity_class,
        "category": result.category,
        "classification_rule": result.rule[:200],
        "classification_reason": result.reason[:1000],
        "customer_id": customer.id if customer else None,
        "source_severity": (subject.severity or None) and subject.severity[:32],
        "opened_at": now,
        "updated_at": now,
        **_clock_values(session, customer, result.severity_class, now),
    }


def _clock_values(session: Session, customer: Customer | CustomerRef | None, severity_class: int,
                  opened_at: datetime) -> dict:
    """The deadline on the customer's clock for the class, and when the SLA sweep first looks (the
    first configured warning). The SLA settings are one statement per opening, none per duplicate."""
    settings = policy.sla_settings(session)
    clock = policy.response_clock(session, customer=customer, severity_class=severity_class,
                                  opened_at=opened_at, settings=settings)
    return {"response_due_at": clock.deadline(),
            "sla_check_at": next_check(clock, warned=0, fractions=settings.warnings)}


def _record_opened(session: Session, incident_id: int, result: Classification, actor: Actor,
                   how: str, source: Source = Source.API) -> None:
    timeline.record(
        session, incident_id=incident_id, kind="opened", actor=actor, source=source,
        message=f"Opened {how}: class {result.severity_class} ({result.category}) "
                f"by rule {result.rule!r}: {result.reason}",
        data={"severity_class": result.severity_class, "category": result.category,
              "rule": result.rule, "reason": result.reason})
