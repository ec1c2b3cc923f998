"""Response deadlines per severity class (our published SLA), tailored per customer.

Rule for reclassification: the deadline is always the opening time plus the new class's
response time, so moving an incident to a more urgent class can put it past due at once.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping

DEFAULT_RESPONSE_TIMES: dict[int, timedelta] = {
    1: timedelta(minutes=120),
    2: timedelta(hours=6),
    3: timedelta(hours=48),
}


def response_time(
    severity_class: int,
    *,
    defaults: Mapping[int, timedelta] | None = None,
    customer: Mapping[int, timedelta] | None = None,
) -> timedelta:
    """The customer's response time for a class, else the default, else the published SLA."""
    for table in (customer, defaults, DEFAULT_RESPONSE_TIMES):
        if table and severity_class in table:
            return table[severity_class]
    raise ValueError(f"unknown severity class {severity_class}")


def response_due_at(opened_at: datetime, severity_class: int, **tables) -> datetime:
    """When a response is due: opening time plus the response time for the class (24x7)."""
    return opened_at + response_time(severity_class, **tables)
