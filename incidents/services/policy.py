"""Reading the classification rules and SLA policy that `vigil apply` stored."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain import sla
from incidents.domain.response_clock import TWENTY_FOUR_SEVEN, WORKING_HOURS, Pause, ResponseClock
from incidents.domain.classification import Rule
from incidents.models import ClassificationRule, Customer, Setting
from incidents.services.engine import calendar

SLA_SETTING = "sla"


def load_rules(session: Session) -> list[Rule]:
    rows = session.scalars(select(ClassificationRule).order_by(ClassificationRule.position))
    return [Rule(r.name, r.severity_class, r.category, r.match) for r in rows]


def minutes_table(raw: dict | None) -> dict[int, timedelta]:
    return {int(k): timedelta(minutes=v) for k, v in (raw or {}).items()}


def default_sla(session: Session) -> dict[int, timedelta]:
    setting = session.get(Setting, SLA_SETTING)
    return minutes_table(setting.value if setting else None)


def clock_kind(session: Session, customer: Any, severity_class: int) -> str:
    """'working_hours' when the customer's policy counts this class on the business calendar."""
    if customer is None:
        return TWENTY_FOUR_SEVEN
    kinds = getattr(customer, "sla_clock", None)
    if kinds is None:  # an intake CustomerRef that did not read it
        kinds = session.scalar(select(Customer.sla_clock).where(Customer.id == customer.id))
    return (kinds or {}).get(str(severity_class), TWENTY_FOUR_SEVEN)


def response_clock(session: Session, *, customer: Any, severity_class: int, opened_at: datetime,
                   pauses: Sequence[Pause] = ()) -> ResponseClock:
    """The incident's clock: the class's response time (customer, defaults, published SLA),
    on the business calendar when the customer's policy says so (and one is configured)."""
    hours = None
    if clock_kind(session, customer, severity_class) == WORKING_HOURS:
        hours = calendar.load(session)
    response = sla.response_time(severity_class, defaults=default_sla(session),
                                 customer=minutes_table(customer.sla_minutes if customer else None))
    return ResponseClock.build(opened_at=opened_at, response_time=response, hours=hours, pauses=pauses)


def response_due_at(session: Session, *, customer: Customer | None, severity_class: int,
                    opened_at: datetime) -> datetime:
    """The deadline of a clock that has not been paused."""
    return response_clock(session, customer=customer, severity_class=severity_class,
                          opened_at=opened_at).deadline()
