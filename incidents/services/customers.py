"""Customers and their SLA terms as the console reads and edits them.

Response deadlines come from the customer's own minutes per class, else the installation's
defaults (`sla:` in vigil.yaml, policy.default_sla), else the published SLA (domain/sla.py). An
incident's deadline is computed when it opens and stored, so an edit here reaches incidents opened
afterwards, and an open incident only when it is reclassified (its deadline is then recomputed
from its opening time with the current terms).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from incidents.domain.enums import SEVERITY_CLASSES
from incidents.domain.sla import DEFAULT_RESPONSE_TIMES
from incidents.models import Customer
from incidents.services import audit, policy
from incidents.services.actor import Actor
from incidents.services.errors import Invalid, NotFound

MIN_MINUTES, MAX_MINUTES = 1, 30 * 24 * 60  # a minute to thirty days
MIN_UPTIME, MAX_UPTIME = 90.0, 100.0


@dataclass(frozen=True)
class ResponseTime:
    severity_class: int
    minutes: int
    source: str  # "customer" (tailored), "default" (vigil.yaml sla) or "published" (built in)


def list_customers(session: Session) -> list[Customer]:
    return list(session.scalars(select(Customer).order_by(Customer.name, Customer.slug)
                                .options(selectinload(Customer.services))))


def get_by_slug(session: Session, slug: str) -> Customer:
    row = session.scalars(select(Customer).where(Customer.slug == slug)
                          .options(selectinload(Customer.services))).first()
    if row is None:
        raise NotFound(f"customer {slug!r} does not exist")
    return row


def response_times(customer: Customer, defaults: dict[int, timedelta]) -> list[ResponseTime]:
    """The response time per class that a new incident of this customer gets, and where it comes from.
    `defaults`: policy.default_sla(session), read once for a page of customers."""
    tailored = customer.sla_minutes or {}
    found = []
    for severity_class in SEVERITY_CLASSES:
        if str(severity_class) in tailored:
            found.append(ResponseTime(severity_class, int(tailored[str(severity_class)]), "customer"))
        elif severity_class in defaults:
            found.append(ResponseTime(severity_class, _minutes(defaults[severity_class]), "default"))
        else:
            found.append(ResponseTime(severity_class, _minutes(DEFAULT_RESPONSE_TIMES[severity_class]), "published"))
    return found


def default_sla(session: Session) -> dict[int, timedelta]:
    return policy.default_sla(session)


def update_terms(session: Session, *, slug: str, minutes: dict[int, int | None], uptime_target: float | None,
                 actor: Actor, where: audit.Where, now: datetime) -> tuple[Customer, bool]:
    """Set the customer's response minutes per class (None: use the default) and uptime target
    (None: none): (customer, whether anything changed). Audited."""
    customer = get_by_slug(session, slug)
    table = {}
    for severity_class in SEVERITY_CLASSES:
        value = minutes.get(severity_class)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not MIN_MINUTES <= value <= MAX_MINUTES:
            raise Invalid(f"class {severity_class}: the response time must be a whole number of minutes from "
                          f"{MIN_MINUTES} to {MAX_MINUTES} (30 days), not {value!r}")
        table[str(severity_class)] = value
    if uptime_target is not None:
        if (isinstance(uptime_target, bool) or not isinstance(uptime_target, (int, float))
                or not math.isfinite(uptime_target) or not MIN_UPTIME <= uptime_target <= MAX_UPTIME):
            raise Invalid(f"uptime target: a percentage from {MIN_UPTIME:g} to {MAX_UPTIME:g}, not {uptime_target!r}")
        uptime_target = round(float(uptime_target), 4)
    before = {"sla_minutes": dict(customer.sla_minutes or {}), "uptime_target": customer.uptime_target}
    if before == {"sla_minutes": table, "uptime_target": uptime_target}:
        return customer, False
    customer.sla_minutes, customer.uptime_target = table, uptime_target
    session.flush()
    audit.record(session, actor=actor, where=where, action="customer.update_sla", target=customer.slug, now=now,
                 details={"sla_minutes": {"from": before["sla_minutes"], "to": table},
                          "uptime_target": {"from": before["uptime_target"], "to": uptime_target}})
    return customer, True


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
