"""The monthly SLA report e-mailed to each customer's contacts, once per customer and month.

A row per (customer, month) is the promise; a delivery is claimed (status `sending`, committed)
before the e-mail goes out and marked `sent` after. A worker that dies between the two leaves a
`sending` row, resent when its claim is older than STALE: the one window where a contact could
get the report twice. Everything already sent stays sent across restarts.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from incidents.domain import report_schedule
from incidents.models import Customer, ReportDelivery
from incidents.services import reports
from incidents.services.engine import calendar
from incidents.services.sql import insert_for

STALE = timedelta(minutes=15)
MAX_ATTEMPTS = 5


def plan(session: Session, *, now: datetime) -> list[int]:
    """Rows for every customer with e-mail contacts once the report is due; the ids to send now."""
    month = report_schedule.report_due(now, calendar.load(session))
    if month is None:
        return []
    for customer in session.scalars(select(Customer).order_by(Customer.id)):
        recipients = contact_emails(customer)
        if recipients:
            session.execute(insert_for(session)(ReportDelivery).values(
                customer_id=customer.id, month=month, status="pending", recipients=recipients, attempts=0,
                created_at=now).on_conflict_do_nothing(index_elements=["customer_id", "month"]))
    session.flush()
    return list(session.scalars(select(ReportDelivery.id).where(
        ReportDelivery.attempts < MAX_ATTEMPTS,
        or_(ReportDelivery.status.in_(["pending", "failed"]),
            (ReportDelivery.status == "sending") & (ReportDelivery.claimed_at < now - STALE)))
        .order_by(ReportDelivery.id)))


def claim(session: Session, *, delivery_id: int, now: datetime) -> ReportDelivery | None:
    """Take the delivery for this worker (the caller commits before sending); None if not ours."""
    row = session.scalars(select(ReportDelivery).where(ReportDelivery.id == delivery_id)
                          .with_for_update(skip_locked=True)).first()
    if row is None or row.status == "sent" or row.attempts >= MAX_ATTEMPTS:
        return None
    if row.status == "sending" and row.claimed_at and row.claimed_at >= now - STALE:
        return None  # another worker is sending it right now
    row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
    return row


def letter(session: Session, row: ReportDelivery, *, now: datetime,
           render_pdf: Callable[[reports.Report, datetime], bytes]) -> dict:
    """Subject, text and the PDF for one delivery (the caller hands them to the mailer)."""
    customer = session.get(Customer, row.customer_id)
    report = reports.sla_report(session, customer_slug=customer.slug, month=row.month, as_of=now)
    label = f"{row.month:%B %Y}"
    return {"to": tuple(row.recipients), "subject": f"{customer.name}: SLA report for {label}",
            "text": (f"Hello,\n\nAttached is {customer.name}'s SLA and uptime report for {label}: "
                     "incidents per class, the share answered within the agreed response time, every "
                     "breach, and uptime per service against your target.\n\nVigil\n"),
            "attachment": (f"sla-{customer.slug}-{row.month:%Y-%m}.pdf", "application/pdf",
                           render_pdf(report, now))}


def mark_sent(session: Session, *, delivery_id: int, message_id: str, now: datetime) -> None:
    row = session.get(ReportDelivery, delivery_id)
    row.status, row.sent_at, row.message_id, row.error = "sent", now, message_id[:255], None


def mark_failed(session: Session, *, delivery_id: int, error: str) -> None:
    row = session.get(ReportDelivery, delivery_id)
    row.status, row.error = "failed", error[:1000]


def history(session: Session, customer_id: int, limit: int = 12) -> list[ReportDelivery]:
    return list(session.scalars(select(ReportDelivery).where(ReportDelivery.customer_id == customer_id)
                                .order_by(ReportDelivery.month.desc()).limit(limit)))


def contact_emails(customer: Customer) -> list[str]:
    found = []
    for contact in customer.contacts or []:
        email = contact.get("email") if isinstance(contact, dict) else None
        if email and email not in found:
            found.append(email)
    return found
