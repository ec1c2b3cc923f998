"""Opening incidents: from alerts (deduplicated by the database) and from people's reports."""
from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain.classification import Classification, Subject, classify
from incidents.domain.enums import Source, Status
from incidents.models import Customer, Incident, Service
from incidents.models.incident import OPEN
from incidents.services import policy, timeline
from incidents.services.actor import Actor
from incidents.services.errors import Invalid, NotFound


def get(session: Session, incident_id: int, *, for_update: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    incident = session.scalars(query.with_for_update() if for_update else query).first()
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist")
    return incident


def find_open(session: Session, *, service_id: int, dedup_key: str) -> Incident | None:
    return session.scalars(
        select(Incident).where(Incident.service_id == service_id, Incident.dedup_key == dedup_key,
                               Incident.status != Status.RESOLVED).with_for_update()
    ).first()


def open_or_attach(session: Session, *, service: Service, dedup_key: str, subject: Subject,
                   actor: Actor) -> tuple[int, bool]:
    """The open incident for (service, dedup key), created if there is none: (id, created).

    Duplicates only bump the alert count. Two alerts racing to create the same incident meet at
    the unique index on open incidents, and the loser's insert becomes an update of the winner's.
    """
    now = clock.now()
    bumped = session.execute(
        update(Incident)
        .where(Incident.service_id == service.id, Incident.dedup_key == dedup_key,
               Incident.status != Status.RESOLVED)
        .values(alert_count=Incident.alert_count + 1, last_alert_at=now, updated_at=now)
        .returning(Incident.id)
        .execution_options(synchronize_session=False)
    ).first()
    if bumped:
        return bumped.id, False

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
    return incident


def _new_incident_values(session: Session, subject: Subject, result: Classification, *,
                         customer: Customer | None, now) -> dict:
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
        "response_due_at": policy.response_due_at(session, customer=customer,
                                                  severity_class=result.severity_class, opened_at=now),
        "updated_at": now,
    }


def _record_opened(session: Session, incident_id: int, result: Classification, actor: Actor,
                   how: str, source: Source = Source.API) -> None:
    timeline.record(
        session, incident_id=incident_id, kind="opened", actor=actor, source=source,
        message=f"Opened {how}: class {result.severity_class} ({result.category}) "
                f"by rule {result.rule!r}: {result.reason}",
        data={"severity_class": result.severity_class, "category": result.category,
              "rule": result.rule, "reason": result.reason})
