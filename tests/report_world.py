"""A customer's October 2026 with known times, for the SLA report tests (service, API, console)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from incidents.models import Incident

M = timedelta(minutes=1)


def at(day: int, hour: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


@dataclass
class ReportWorld:
    acme: object
    globex: object
    late_id: int  # class 1, acknowledged 30 minutes after its deadline
    silent_id: int  # class 1, never acknowledged
    october: date = date(2026, 10, 1)


def add(session, service, *, opened: datetime, severity_class: int, due: timedelta, ack: timedelta | None,
        resolved: timedelta | None, category: str = "defect", title: str = "Checkout slow") -> int:
    row = Incident(title=title, description="", status="resolved" if resolved else "triggered",
                   severity_class=severity_class, category=category, classification_rule="test",
                   classification_reason="test", origin="alert", customer_id=service.customer_id,
                   service_id=service.id, opened_at=opened, response_due_at=opened + due,
                   acknowledged_at=opened + ack if ack is not None else None,
                   resolved_at=opened + resolved if resolved is not None else None, updated_at=opened)
    session.add(row)
    session.flush()
    return row.id


def build(make, *, acme_name: str = "Acme") -> ReportWorld:
    """acme (class 1 within 60 minutes, uptime target 99.9) with services checkout and api:
    class 1 outages on checkout 00:00-02:00 and 01:00-04:00 on 10 October (overlapping: 4 hours
    down), on api from 30 September 23:00 to 1 October 01:00 (1 hour in October) and from
    31 October 23:00, still open (1 hour in October); ten class 3 incidents acknowledged after 1 to
    10 minutes and resolved after twice that. globex has one class 2 incident in October and one
    in November."""
    session = make.session
    acme = make.customer("acme", sla_minutes={"1": 60})
    acme.name, acme.uptime_target = acme_name, 99.9
    globex = make.customer("globex")
    checkout = make.service("checkout", customer=acme, types=()).service
    api = make.service("api", customer=acme, types=()).service
    sms = make.service("sms", customer=globex, types=()).service
    hour = 60 * M
    add(session, checkout, opened=at(10, 0), severity_class=1, due=hour, ack=10 * M, resolved=2 * hour,
        category="outage", title="Checkout down")
    late = add(session, checkout, opened=at(10, 1), severity_class=1, due=hour, ack=90 * M,
               resolved=3 * hour, category="outage", title="Checkout down again")
    add(session, api, opened=at(30, 23, month=9), severity_class=1, due=hour, ack=5 * M,
        resolved=2 * hour, category="outage", title="API down since September")
    silent = add(session, api, opened=at(31, 23), severity_class=1, due=hour, ack=None, resolved=None,
                 category="outage", title="API down at month end")
    for n in range(1, 11):
        add(session, checkout, opened=at(n, 12), severity_class=3, due=48 * hour, ack=n * M,
            resolved=2 * n * M, title=f"Slow page {n}")
    add(session, sms, opened=at(15, 12), severity_class=2, due=6 * hour, ack=30 * M, resolved=hour)
    add(session, sms, opened=at(2, 12, month=11), severity_class=2, due=6 * hour, ack=None, resolved=None)
    session.commit()
    return ReportWorld(acme, globex, late, silent)
