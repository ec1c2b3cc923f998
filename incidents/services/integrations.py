"""Integrations and their keys.

A key is returned once, when made, and stored as a hash; only its last four characters (the hint)
are kept to tell keys apart. With `actor` and `where` (the console) creating an integration and
rotating a key are written to the audit trail; `vigil apply` and the command line pass neither.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from incidents import clock
from incidents.domain.enums import IntegrationType
from incidents.models import Integration, Service
from incidents.services import audit
from incidents.services.actor import Actor
from incidents.services.errors import Conflict, Invalid, NotFound
from incidents.services.keys import hash_key, hint, new_integration_key

INTAKE_PATHS = {
    IntegrationType.ALERTMANAGER.value: "/api/v1/alerts/alertmanager",
    IntegrationType.PAGERDUTY.value: "/v2/enqueue",
    IntegrationType.GRAFANA.value: "/api/v1/alerts/grafana",
    IntegrationType.GENERIC.value: "/api/v1/alerts",
}
MAX_NAME = 100
MAX_ID = 2 ** 63 - 1


def intake_url(public_url: str, integration_type: str) -> str:
    return public_url.rstrip("/") + INTAKE_PATHS[integration_type]


def create(session: Session, *, service: Service, name: str, type: str, actor: Actor | None = None,
           where: audit.Where | None = None) -> tuple[Integration, str]:
    """A new integration and its key (returned once, stored hashed)."""
    key = new_integration_key()
    row = Integration(service=service, name=name, type=type, key_hash=hash_key(key),
                      key_hint=hint(key), created_at=clock.now())
    session.add(row)
    session.flush()
    if actor is not None and where is not None:
        audit.record(session, actor=actor, where=where, action="integration.create",
                     target=f"{service.name}/{name}", now=row.created_at,
                     details={"type": type, "key_hint": row.key_hint})
    return row, key


def add(session: Session, *, service_name: str, name: str, type: str, actor: Actor,
        where: audit.Where) -> tuple[Integration, str]:
    """A new integration on a service, its name checked; the key is returned once."""
    service = get_service(session, service_name)
    name = (name or "").strip()
    if not name:
        raise Invalid("name: give the integration a name, like prometheus")
    if len(name) > MAX_NAME or not name.isprintable():
        raise Invalid(f"name: at most {MAX_NAME} printable characters")
    if type not in INTAKE_PATHS:
        raise Invalid(f"type: expected one of {', '.join(INTAKE_PATHS)}")
    if any(i.name == name for i in service.integrations):
        raise Conflict(f"name: {service.name} already has an integration called {name!r}")
    return create(session, service=service, name=name, type=type, actor=actor, where=where)


def rotate_key(session: Session, *, service_name: str, name: str, actor: Actor | None = None,
               where: audit.Where | None = None) -> tuple[Integration, str]:
    """A new key for the integration; the old one stops working at once (a revoked one lives again)."""
    row = session.scalars(select(Integration).join(Service).where(
        Service.name == service_name, Integration.name == name)).first()
    if row is None:
        raise NotFound(f"service {service_name!r} has no integration {name!r}")
    key = new_integration_key()
    old_hint, was_revoked = row.key_hint, row.revoked_at is not None
    row.key_hash, row.key_hint, row.revoked_at = hash_key(key), hint(key), None
    if actor is not None and where is not None:
        session.flush()
        audit.record(session, actor=actor, where=where, action="integration.rotate_key",
                     target=f"{service_name}/{name}", now=clock.now(),
                     details={"key_hint": {"from": old_hint, "to": row.key_hint}, "was_revoked": was_revoked})
    return row, key


# --- reading, for the console ------------------------------------------------------------------

def list_services(session: Session) -> list[Service]:
    return list(session.scalars(select(Service).order_by(Service.name).options(
        selectinload(Service.customer), selectinload(Service.integrations))))


def get_service(session: Session, name: str) -> Service:
    service = session.scalars(select(Service).where(Service.name == name).options(
        selectinload(Service.customer), selectinload(Service.integrations))).first()
    if service is None:
        raise NotFound(f"service {name!r} does not exist")
    return service


def get_integration(session: Session, *, service_name: str, integration_id: int) -> Integration:
    """The service's integration with this id (another service's is not found)."""
    row = session.get(Integration, integration_id) if 0 < integration_id <= MAX_ID else None
    if row is None or row.service.name != service_name:
        raise NotFound(f"service {service_name!r} has no integration {integration_id}")
    return row
