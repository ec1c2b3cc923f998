"""Services by name, linked to their escalation policy, and their integrations by (service, name).
Existing integrations keep their keys;
a new one's key is returned once in the result. With --prune, integrations not in the file are revoked
and services not in the file deleted (checks.py refuses when incidents or alerts refer to them)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.models import Customer, EscalationPolicy, Integration, Service
from incidents.services import integrations
from incidents.services.apply.result import ApplyResult
from incidents.services.apply.rows import assign
from incidents.services.apply.specs import IntegrationSpec, ServiceSpec


def sync_services(session: Session, specs: list[ServiceSpec], customers: dict[str, Customer],
                  policies: dict[str, EscalationPolicy], *, prune: bool, public_url: str,
                  result: ApplyResult) -> None:
    """`policies` by name have ids; a service that names no policy has none (the engine uses 'default')."""
    result.section("services")
    result.section("integrations")
    by_name = {s.name: s for s in session.scalars(select(Service))}
    for spec in specs:
        row = by_name.get(spec.name)
        values = dict(customer=customers[spec.customer], auto_resolve=spec.auto_resolve,
                      escalation_policy_id=policies[spec.escalation_policy].id if spec.escalation_policy else None)
        if row is None:
            row = Service(name=spec.name, created_at=clock.now(), **values)
            session.add(row)
            result.count("services", "created")
        else:
            result.count("services", "updated" if assign(row, **values) else "unchanged")
        _sync_integrations(session, row, spec.integrations, prune=prune, public_url=public_url, result=result)


def _sync_integrations(session: Session, service: Service, specs: tuple[IntegrationSpec, ...], *,
                       prune: bool, public_url: str, result: ApplyResult) -> None:
    by_name = {i.name: i for i in service.integrations}
    for spec in specs:
        row = by_name.get(spec.name)
        if row is None:
            row, key = integrations.create(session, service=service, name=spec.name, type=spec.type)
            _show_key(result, row, key, public_url)
            result.count("integrations", "created")
        elif row.revoked_at is not None:
            # A revoked key stays dead (it may have leaked); listing the integration again issues a new one.
            row, key = integrations.rotate_key(session, service_name=service.name, name=spec.name)
            row.type = spec.type
            _show_key(result, row, key, public_url)
            result.count("integrations", "updated")
        else:
            result.count("integrations", "updated" if assign(row, type=spec.type) else "unchanged")
    if prune:
        keep = {s.name for s in specs}
        for name, row in by_name.items():
            if name not in keep and row.revoked_at is None:
                row.revoked_at = clock.now()
                result.count("integrations", "revoked")


def _show_key(result: ApplyResult, row: Integration, key: str, public_url: str) -> None:
    result.integrations.append({"service": row.service.name, "name": row.name, "type": row.type, "key": key,
                                "url": integrations.intake_url(public_url, row.type)})


def delete_services(session: Session, rows: list[Service], result: ApplyResult) -> None:
    """Services no incident or alert refers to, with their integrations."""
    for row in rows:
        for integration in row.integrations:
            session.delete(integration)
        session.delete(row)
        result.count("services", "deleted")
