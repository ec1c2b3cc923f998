"""Installation-wide settings: the default time zone and the default response time per class."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from incidents.models import Setting
from incidents.services.apply.result import ApplyResult
from incidents.services.policy import SLA_SETTING

TIMEZONE_SETTING = "timezone"


def sync_timezone(session: Session, name: str, result: ApplyResult) -> None:
    _put(session, TIMEZONE_SETTING, {"name": name}, section="timezone", result=result)


def sync_sla(session: Session, minutes: dict[str, int], result: ApplyResult) -> None:
    _put(session, SLA_SETTING, minutes, section="sla", result=result)


def _put(session: Session, key: str, value: dict[str, Any], *, section: str, result: ApplyResult) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
        result.count(section, "created")
    elif row.value != value:
        row.value = value
        result.count(section, "updated")
    else:
        result.count(section, "unchanged")
