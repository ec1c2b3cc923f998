"""Customers by slug: created or updated from the file; deleted with --prune (checks.py says when not)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.models import Customer
from incidents.services.apply.result import ApplyResult
from incidents.services.apply.rows import assign
from incidents.services.apply.specs import CustomerSpec


def customers_by_slug(session: Session) -> dict[str, Customer]:
    return {c.slug: c for c in session.scalars(select(Customer))}


def sync_customers(session: Session, specs: list[CustomerSpec], result: ApplyResult) -> dict[str, Customer]:
    """Every customer by slug, after the file's are in place (services look theirs up here)."""
    result.section("customers")
    by_slug = customers_by_slug(session)
    for spec in specs:
        values = dict(name=spec.name, sla_minutes=spec.sla_minutes, sla_clock=spec.sla_clock,
                      uptime_target=spec.uptime_target, contacts=spec.contacts)
        row = by_slug.get(spec.slug)
        if row is None:
            by_slug[spec.slug] = Customer(slug=spec.slug, created_at=clock.now(), **values)
            session.add(by_slug[spec.slug])
            result.count("customers", "created")
        else:
            result.count("customers", "updated" if assign(row, **values) else "unchanged")
    return by_slug


def delete_customers(session: Session, rows: list[Customer], result: ApplyResult) -> None:
    for row in rows:
        session.expire(row, ["services"])  # reload: the services it had are gone or moved by now
        session.delete(row)
        result.count("customers", "deleted")
