"""Checks that need the database: references to customers, and what --prune may not delete."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.models import Alert, Customer, Incident, Service, Setting
from incidents.services.apply.document import Document
from incidents.services.engine.calendar import SETTING as WORKING_HOURS_SETTING


def check(session: Session, document: Document, *, prune: bool) -> list[str]:
    errors = _service_customers(session, document, prune=prune)
    if prune:
        errors += _undeletable_services(session, document)
        errors += _undeletable_customers(session, document)
    return errors


def warnings(session: Session, document: Document) -> list[str]:
    """Working-hours clocks while no working hours are configured: they run 24x7 until some are
    (a warning, like a policy step's `when`, so the file can be applied before the calendar is agreed)."""
    if document.working_hours is not None or session.get(Setting, WORKING_HOURS_SETTING) is not None:
        return []
    return [f"{customer.path}.sla_clock.{severity_class}: no working_hours are configured, so this class's "
            "clock runs 24x7 until they are"
            for customer in document.customers or [] for severity_class in customer.sla_clock or {}]


def known_customers(session: Session, document: Document, *, prune: bool) -> set[str]:
    """Slugs a service may name: the file's, plus the database's unless --prune deletes those."""
    known = document.customer_slugs
    if not (prune and document.customers is not None):
        known |= set(session.scalars(select(Customer.slug)))
    return known


def _service_customers(session: Session, document: Document, *, prune: bool) -> list[str]:
    if not document.services:
        return []
    known = known_customers(session, document, prune=prune)
    hint = " (with --prune, customers must be in the file)" if prune and document.customers is not None else ""
    return [f"{s.path}.customer: unknown customer {s.customer!r}{hint}"
            for s in document.services if s.customer and s.customer not in known]


def services_to_delete(session: Session, document: Document) -> list[Service]:
    if document.services is None:
        return []
    keep = {s.name for s in document.services}
    return [s for s in session.scalars(select(Service).order_by(Service.name)) if s.name not in keep]


def customers_to_delete(session: Session, document: Document) -> list[Customer]:
    if document.customers is None:
        return []
    keep = document.customer_slugs
    return [c for c in session.scalars(select(Customer).order_by(Customer.slug)) if c.slug not in keep]


def _undeletable_services(session: Session, document: Document) -> list[str]:
    errors = []
    for service in services_to_delete(session, document):
        incidents = _count(session, Incident, Incident.service_id == service.id)
        alerts = _count(session, Alert, Alert.service_id == service.id)
        if incidents or alerts:
            errors.append(f"services: cannot delete {service.name!r} (not in the file): "
                          f"{_n(incidents, 'incident')} and {_n(alerts, 'alert')} refer to it; keep it in the file")
    return errors


def _undeletable_customers(session: Session, document: Document) -> list[str]:
    leaving = {s.id for s in services_to_delete(session, document)}
    moving = {s.name for s in document.services or []}
    errors = []
    for customer in customers_to_delete(session, document):
        incidents = _count(session, Incident, Incident.customer_id == customer.id)
        staying = [s.name for s in customer.services if s.id not in leaving and s.name not in moving]
        if incidents:
            errors.append(f"customers: cannot delete {customer.slug!r} (not in the file): "
                          f"{_n(incidents, 'incident')} refer to it; keep it in the file")
        if staying:
            errors.append(f"customers: cannot delete {customer.slug!r} (not in the file): "
                          f"services {', '.join(staying)} still belong to it")
    return errors


def _count(session: Session, model, condition) -> int:
    return session.scalar(select(func.count()).select_from(model).where(condition))


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
