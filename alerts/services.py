"""Ingest: authenticate the integration, then turn each alert into an incident action, in one transaction.

This is Vigil's hottest path, so it reads with one prebuilt Core query and writes alert rows with
Core statements instead of ORM objects. On PostgreSQL a duplicate alert, by far the commonest
request, costs two statements in autocommit on the driver connection: the key check and
count_duplicate() (see incidents.services.incidents.attach_alert).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from alerts.sources.base import AlertIn
from incidents import clock
from incidents.db import DriverStatement
from incidents.domain.classification import Subject
from incidents.domain.enums import AlertAction, IntegrationType, Source
from incidents.models import Customer, Integration, Service
from incidents.services import lifecycle, timeline
from incidents.services.actor import Actor
from incidents.services.errors import Forbidden, Unauthorized
from incidents.services.incidents import (CustomerRef, ServiceRef, attach_alert, find_open,
                                          open_from_alert, store_alert)
from incidents.services.integrations import INTAKE_PATHS
from incidents.services.keys import hash_key


@dataclass(frozen=True)
class Outcome:
    dedup_key: str
    action: str
    incident_id: int | None
    created: bool = False


@dataclass(frozen=True, slots=True)
class IntakeIntegration:
    """The live integration a key belongs to, with its service and customer (read-only)."""

    id: int
    name: str
    type: str
    service: ServiceRef


_integrations, _services, _customers = Integration.__table__, Service.__table__, Customer.__table__
_AUTHENTICATE = DriverStatement(
    select(_integrations.c.id, _integrations.c.name, _integrations.c.type,
           _services.c.id, _services.c.name, _services.c.auto_resolve,
           _customers.c.id, _customers.c.sla_minutes, _customers.c.sla_clock)
    .select_from(_integrations
                 .join(_services, _services.c.id == _integrations.c.service_id)
                 .join(_customers, _customers.c.id == _services.c.customer_id))
    .where(_integrations.c.key_hash == bindparam("key_hash"), _integrations.c.revoked_at.is_(None))
)


def authenticate(db: Session | PoolProxiedConnection, key: str | None, *,
                 expected: IntegrationType) -> IntakeIntegration:
    """The live integration owning `key`; one answer for unknown and revoked keys alike.

    `db`: the request's session, or on PostgreSQL its autocommit connection (a read needs no
    transaction)."""
    row = _AUTHENTICATE.first(db, {"key_hash": hash_key(key)}) if key else None
    if row is None:
        raise Unauthorized("unknown or revoked integration key")
    integration_id, name, type_, service_id, service_name, auto_resolve, customer_id, sla, kinds = row
    if type_ != expected:
        raise Forbidden(f"this key belongs to a {type_} integration; "
                        f"post its alerts to {INTAKE_PATHS[type_]}")
    return IntakeIntegration(integration_id, name, type_, ServiceRef(
        service_id, service_name, auto_resolve, CustomerRef(customer_id, sla or {}, kinds or {})))


def count_duplicate(connection: PoolProxiedConnection, *, integration: IntakeIntegration,
                    alert: AlertIn) -> Outcome | None:
    """A trigger for an incident that is open: count it and store the alert in one statement, in
    autocommit on PostgreSQL (incidents.web.session.autocommit_connection). None, writing
    nothing, for anything else; ingest() then handles it in a transaction."""
    if alert.action is not AlertAction.TRIGGER:
        return None
    row = _alert_row(integration, alert)
    incident_id = attach_alert(connection, service_id=integration.service.id,
                               dedup_key=alert.dedup_key, alert=row, now=row["received_at"])
    return None if incident_id is None else Outcome(alert.dedup_key, alert.action.value, incident_id)


def _alert_row(integration: IntakeIntegration | Integration, alert: AlertIn) -> dict:
    return {"integration_id": integration.id, "service_id": integration.service.id,
            "received_at": clock.now(), "action": alert.action.value, "dedup_key": alert.dedup_key,
            "summary": alert.summary, "source": alert.source, "severity": alert.severity,
            "details": alert.details, "raw": alert.raw}


def ingest(session: Session, *, integration: IntakeIntegration | Integration,
           alerts: list[AlertIn], duplicates_counted: bool = False) -> list[Outcome]:
    """Record every alert and act on its incident: open or count, acknowledge, resolve.

    `duplicates_counted`: count_duplicate() already found no open incident for these alerts, so
    triggers go straight to opening one (an alert racing in meets it at the unique index).
    """
    service = integration.service
    actor = Actor.integration(service.name, integration.name)
    outcomes = []
    for alert in alerts:
        row = _alert_row(integration, alert)
        if alert.action is AlertAction.TRIGGER and not duplicates_counted:
            # A duplicate, the common case: count it and store the alert in one statement.
            incident_id = attach_alert(session, service_id=service.id, dedup_key=alert.dedup_key,
                                       alert=row, now=row["received_at"])
            if incident_id is not None:
                outcomes.append(Outcome(alert.dedup_key, alert.action.value, incident_id))
                continue
        outcome = _HANDLERS[alert.action](session, service, alert, actor)
        store_alert(session, row, incident_id=outcome.incident_id)
        outcomes.append(outcome)
    return outcomes


def _trigger(session: Session, service: ServiceRef, alert: AlertIn, actor: Actor) -> Outcome:
    subject = Subject(title=alert.summary, description=alert.description, severity=alert.severity,
                      source=alert.source, labels=alert.labels)
    # ingest() found no open incident for the key: open one (or meet a racing alert's).
    incident_id, created = open_from_alert(session, service=service, dedup_key=alert.dedup_key,
                                           subject=subject, actor=actor)
    return Outcome(alert.dedup_key, alert.action.value, incident_id, created)


def _acknowledge(session: Session, service: ServiceRef, alert: AlertIn, actor: Actor) -> Outcome:
    incident = find_open(session, service_id=service.id, dedup_key=alert.dedup_key)
    if incident:
        lifecycle.acknowledge(session, incident_id=incident.id, actor=actor, source=Source.API)
    return Outcome(alert.dedup_key, alert.action.value, incident.id if incident else None)


def _resolve(session: Session, service: ServiceRef, alert: AlertIn, actor: Actor) -> Outcome:
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
