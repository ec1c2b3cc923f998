"""Reading the classification rules and SLA policy that `vigil apply` stored."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain import sla
from incidents.domain.classification import Rule
from incidents.models import ClassificationRule, Customer, Setting

SLA_SETTING = "sla"


def load_rules(session: Session) -> list[Rule]:
    rows = session.scalars(select(ClassificationRule).order_by(ClassificationRule.position))
    return [Rule(r.name, r.severity_class, r.category, r.match) for r in rows]


def minutes_table(raw: dict | None) -> dict[int, timedelta]:
    return {int(k): timedelta(minutes=v) for k, v in (raw or {}).items()}


def default_sla(session: Session) -> dict[int, timedelta]:
    setting = session.get(Setting, SLA_SETTING)
    return minutes_table(setting.value if setting else None)


def response_due_at(session: Session, *, customer: Customer | None, severity_class: int,
                    opened_at: datetime) -> datetime:
    return sla.response_due_at(opened_at, severity_class, defaults=default_sla(session),
                               customer=minutes_table(customer.sla_minutes if customer else None))
