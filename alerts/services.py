"""Ingest: authenticate the integration, then turn each alert into an incident action, in one transaction."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from alerts.sources.base import AlertIn
from incidents import clock
from incidents.domain.classification import Subject
from incidents.domain.enums import AlertAction, IntegrationType, Source
from incidents.models import Alert, Integration, Service
from incidents.services import lifecycle, timeline
from incidents.services.actor import Actor
from incidents.services.errors import Forbidden, Unauthorized
from incidents.services.incidents import find_open, open_or_attach
from incidents.services.integrations import INTAKE_PATHS
from incidents.services.keys import hash_key



@dataclass(frozen=True)
class Outcome:
    dedup_key: str
    action: str
    incident_id: int | None
    created: bool = False


def authenticate(session: Session, key: str | None, *, expected: IntegrationType) -> Integration:
    """The live integration owning `key`; one answer for unknown and revoked keys alike."""
    integration = None
    if key:
        integration = session.scalars(
            select(Integration).where(Integration.key_hash == hash_key(key),
                                      Integration.revoked_at.is_(None))
            .options(joinedload(Integration.service).joinedload(Service.customer))
        ).first()
    if integration is None:
        raise Unauthorized("unknown or revoked integration key")
    if integration.type != expected:
        raise Forbidden(f"this key belongs to a {integration.type} integration; "
                        f"post its alerts to {INTAKE_PATHS[integration.type]}")
    return integration


def ingest(session: Session, *, integration: Integration, alerts: list[AlertIn]) -> list[Outcome]:
    """Record every alert and act on its incident: open or count, acknowledge, resolve."""
    service = integration.service
    actor = Actor.integration(service.name, integration.name)
    outcomes = []
    for alert in alerts:
        outcome = _HANDLERS[alert.action](session, service, alert, actor)
        session.add(Alert(
            integration_id=integration.id, service_id=service.id, incident_id=outcome.incident_id,
            received_at=clock.now(), action=alert.action.value, dedup_key=alert.dedup_key,
            summary=alert.summary, source=alert.source, severity=alert.severity,
            details=alert.details, raw=alert.raw))
        outcomes.append(outcome)
    return outcomes


def _trigger(session: Session, service: Service, alert: AlertIn, actor: Actor) -> Outcome:
    subject = Subject(title=alert.summary, description=alert.description, severity=alert.severity,
                      source=alert.source, labels=alert.labels)
    incident_id, created = open_or_attach(session, service=service, dedup_key=alert.dedup_key,
                                          subject=subject, actor=actor)
    return Outcome(alert.dedup_key, alert.action.value, incident_id, created)


def _acknowledge(session: Session, service: Service, alert: AlertIn, actor: Actor) -> Outcome:
    incident = find_open(session, service_id=service.id, dedup_key=alert.dedup_key)
    if incident:
        lifecycle.acknowledge(session, incident_id=incident.id, actor=actor, source=Source.API)
    return Outcome(alert.dedup_key, alert.action.value, incident.id if incident else None)


def _resolve(session: Session, service: Service, alert: AlertIn, actor: Actor) -> Outcome:
    incident = find_open(session, service_id=service.id, dedup_key=alert.dedup_key)
    if incident is None:
        return Outcome(alert.dedup_key, alert.action.value, None)
    if service.auto_resolve:
        lifecycle.resolve(session, incident_id=incident.id, actor=actor, source=Source.API,
                          note="the alert resolved at its source")
    else:
        timeline.record(session, incident_id=incident.id, kind="alert_resolved", actor=actor,
                        source=Source.API,
                        message=f"The alert resolved at its source; {service.name} does not "
                                "auto-resolve, so the incident stays open until someone resolves it")
    return Outcome(alert.dedup_key, alert.action.value, incident.id)


_HANDLERS = {
    AlertAction.TRIGGER: _trigger,
    AlertAction.ACKNOWLEDGE: _acknowledge,
    AlertAction.RESOLVE: _resolve,
}
