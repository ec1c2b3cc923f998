"""When the monthly report goes out: the first working day of the month, for the month before."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from incidents.domain import working_hours as wh


def previous_month(day: date) -> date:
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1)


def first_working_day(year: int, month: int, hours: wh.WorkingHours | None) -> date:
    """The first day of the month on which work starts (weekends and holidays skipped); the 1st
    when no working hours are configured."""
    if hours is None:
        return date(year, month, 1)
    zone = ZoneInfo(hours.timezone)
    midnight = datetime.combine(date(year, month, 1), time(0), tzinfo=zone)
    return wh.next_working_start(hours, midnight).astimezone(zone).date()


def report_due(now: datetime, hours: wh.WorkingHours | None) -> date | None:
    """The month whose report is due now (from the first working day of the next month on), else None."""
    zone = ZoneInfo(hours.timezone) if hours else None
    today = now.astimezone(zone).date() if zone else now.date()
    if today < first_working_day(today.year, today.month, hours):
        return None
    return previous_month(today)
