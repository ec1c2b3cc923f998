"""Finding incidents: filters and a cursor that stays stable while new incidents arrive."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from incidents.models import Alert, Customer, Incident, Service
from incidents.services.errors import Invalid


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    severity_class: int | None = None
    customer: str | None = None
    service: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = text.split(":", 1)
        number = int(value)
        if prefix != "id" or not 0 < number < 2**63:
            raise ValueError
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("cursor: not a cursor this API gave out; start again without it") from None


def list_incidents(session: Session, filters: Filters, *, cursor: str | None = None,
                   limit: int = 50) -> tuple[list[Incident], str | None]:
    """Newest first; `next` is None on the last page."""
    query = select(Incident).options(joinedload(Incident.customer), joinedload(Incident.service),
                                     joinedload(Incident.assignee))
    if filters.status:
        query = query.where(Incident.status == filters.status)
    if filters.severity_class:
        query = query.where(Incident.severity_class == filters.severity_class)
    if filters.customer:
        query = query.where(Incident.customer_id == select(Customer.id).where(
            Customer.slug == filters.customer).scalar_subquery())
    if filters.service:
        query = query.where(Incident.service_id == select(Service.id).where(
            Service.name == filters.service).scalar_subquery())
    if cursor:
        query = query.where(Incident.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Incident.id.desc()).limit(limit + 1)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id) if more else None


def list_alerts(session: Session, *, incident_id: int, cursor: str | None = None,
                limit: int = 50) -> tuple[list[Alert], str | None]:
    """An incident's alerts, newest first."""
    query = select(Alert).where(Alert.incident_id == incident_id)
    if cursor:
        query = query.where(Alert.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Alert.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id) if more else None
