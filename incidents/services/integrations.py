"""Integrations and their keys."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain.enums import IntegrationType
from incidents.models import Integration, Service
from incidents.services.errors import NotFound
from incidents.services.keys import hash_key, hint, new_integration_key

INTAKE_PATHS = {
    IntegrationType.ALERTMANAGER.value: "/api/v1/alerts/alertmanager",
    IntegrationType.PAGERDUTY.value: "/v2/enqueue",
    IntegrationType.GRAFANA.value: "/api/v1/alerts/grafana",
    IntegrationType.GENERIC.value: "/api/v1/alerts",
}


def intake_url(public_url: str, integration_type: str) -> str:
    return public_url.rstrip("/") + INTAKE_PATHS[integration_type]


def create(session: Session, *, service: Service, name: str, type: str) -> tuple[Integration, str]:
    """A new integration and its key (returned once, stored hashed)."""
    key = new_integration_key()
    row = Integration(service=service, name=name, type=type, key_hash=hash_key(key),
                      key_hint=hint(key), created_at=clock.now())
    session.add(row)
    session.flush()
    return row, key


def rotate_key(session: Session, *, service_name: str, name: str) -> tuple[Integration, str]:
    row = session.scalars(select(Integration).join(Service).where(
        Service.name == service_name, Integration.name == name)).first()
    if row is None:
        raise NotFound(f"service {service_name!r} has no integration {name!r}")
    key = new_integration_key()
    row.key_hash, row.key_hint, row.revoked_at = hash_key(key), hint(key), None
    return row, key
