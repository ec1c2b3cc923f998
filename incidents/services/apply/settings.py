"""Installation-wide settings: the default time zone, the default response time per class, the
shares of it at which warnings go out, the working week (stored in the form
incidents.services.engine.calendar.load() reads), and the breach playbook."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from incidents.models import Setting
from incidents.services.apply.result import ApplyResult
from incidents.services.engine.calendar import SETTING as WORKING_HOURS_SETTING
from incidents.services.policy import SLA_SETTING, WARNINGS_SETTING

TIMEZONE_SETTING = "timezone"
FALLBACK_TIMEZONE = "UTC"
BREACH_PLAYBOOK_SETTING = "breach_playbook"  # read by incidents.services.playbook.runs


def default_timezone(session: Session, file_timezone: str | None) -> str:
    """For what names no time zone: the file's `timezone`, else the one stored before, else UTC."""
    if file_timezone is not None:
        return file_timezone
    row = session.get(Setting, TIMEZONE_SETTING)
    stored = row.value.get("name") if row is not None and row.value else None
    return stored or FALLBACK_TIMEZONE


def sync_timezone(session: Session, name: str, result: ApplyResult) -> None:
    _put(session, TIMEZONE_SETTING, {"name": name}, section="timezone", result=result)


def sync_sla(session: Session, minutes: dict[str, int], result: ApplyResult) -> None:
    _put(session, SLA_SETTING, minutes, section="sla", result=result)


def sync_sla_warnings(session: Session, fractions: tuple[float, ...], result: ApplyResult) -> None:
    """{"fractions": [0.5, 0.8]}, as policy.warning_fractions() reads it. Open incidents keep their
    deadlines; the sweep warns at the new shares from its next look at each."""
    _put(session, WARNINGS_SETTING, {"fractions": list(fractions)}, section="sla_warnings", result=result)


def sync_working_hours(session: Session, value: dict[str, Any], result: ApplyResult) -> None:
    """{"timezone", "days": [0..6], "start": "HH:MM", "end": "HH:MM", "holidays": ["YYYY-MM-DD"]}."""
    _put(session, WORKING_HOURS_SETTING, value, section="working_hours", result=result)


def sync_breach_playbook(session: Session, value: dict[str, Any], result: ApplyResult) -> None:
    """The normalised section; a run takes a snapshot at its start, so a change never alters one under way."""
    _put(session, BREACH_PLAYBOOK_SETTING, value, section="breach_playbook", result=result)


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
