"""Working hours as configured (`working_hours` in vigil.yaml, stored in settings).

Without a working-hours setting every moment counts as working time, so steps marked
`when: outside_working_hours` never apply and nothing is deferred.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy.orm import Session

from incidents.domain import working_hours as wh
from incidents.models import Setting

SETTING = "working_hours"


def load(session: Session) -> wh.WorkingHours | None:
    row = session.get(Setting, SETTING)
    if row is None or not row.value:
        return None
    value = row.value
    return wh.WorkingHours(
        timezone=value["timezone"], days=frozenset(value["days"]),
        start=time.fromisoformat(value["start"]), end=time.fromisoformat(value["end"]),
        holidays=frozenset(date.fromisoformat(d) for d in value.get("holidays", [])))


def working_now(session: Session, now: datetime) -> bool:
    hours = load(session)
    return True if hours is None else wh.is_working_time(hours, now)


def next_working_start(session: Session, now: datetime) -> datetime:
    hours = load(session)
    return now if hours is None else wh.next_working_start(hours, now)
