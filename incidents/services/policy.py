"""Reading the classification rules and SLA policy that `vigil apply` stored."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain import sla
from incidents.domain.response_clock import (TWENTY_FOUR_SEVEN, WARNING_FRACTIONS, WORKING_HOURS, Pause,
                                             ResponseClock)
from incidents.domain.classification import Rule
from incidents.domain.working_hours import WorkingHours
from incidents.models import ClassificationRule, Customer, Setting
from incidents.services.engine import calendar

SLA_SETTING = "sla"
WARNINGS_SETTING = "sla_warnings"  # {"fractions": [0.5, 0.8]}


@dataclass(frozen=True)
class SlaSettings:
    """The installation-wide SLA settings an incident's clock needs, read in one query."""

    defaults: dict[int, timedelta]  # response time per class (`sla:`)
    warnings: tuple[float, ...]  # shares of the response time at which people are warned
    hours: WorkingHours | None  # the business calendar; None: not configured


def sla_settings(session: Session) -> SlaSettings:
    """One statement for the three settings, because opening an incident (the intake path) needs
    them all; per transaction, not cached, so what `vigil apply` committed counts at once."""
    keys = (SLA_SETTING, WARNINGS_SETTING, calendar.SETTING)
    rows = {row.key: row for row in session.scalars(select(Setting).where(Setting.key.in_(keys)))}
    warnings = rows.get(WARNINGS_SETTING)
    # calendar.load() finds its row in the session (just read), so it costs no statement.
    return SlaSettings(
        defaults=minutes_table(rows[SLA_SETTING].value if SLA_SETTING in rows else None),
        warnings=warning_fractions(warnings.value if warnings is not None else None),
        hours=calendar.load(session) if calendar.SETTING in rows else None)


def warning_fractions(value: dict | None) -> tuple[float, ...]:
    """The stored `sla_warnings` setting as fractions; the defaults when there is none."""
    if not value or "fractions" not in value:
        return WARNING_FRACTIONS
    return tuple(float(f) for f in value["fractions"])


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
                   pauses: Sequence[Pause] = (), settings: SlaSettings | None = None) -> ResponseClock:
    """The incident's clock: the class's response time (customer, defaults, published SLA),
    on the business calendar when the customer's policy says so (and one is configured).
    `settings`: sla_settings(session), when the caller has read them already."""
    settings = settings or sla_settings(session)
    hours = settings.hours if clock_kind(session, customer, severity_class) == WORKING_HOURS else None
    response = sla.response_time(severity_class, defaults=settings.defaults,
                                 customer=minutes_table(customer.sla_minutes if customer else None))
    return ResponseClock.build(opened_at=opened_at, response_time=response, hours=hours, pauses=pauses)


def response_due_at(session: Session, *, customer: Customer | None, severity_class: int,
                    opened_at: datetime) -> datetime:
    """The deadline of a clock that has not been paused."""
    return response_clock(session, customer=customer, severity_class=severity_class,
                          opened_at=opened_at).deadline()
