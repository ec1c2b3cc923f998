"""A customer's monthly SLA report e-mail: one row per (customer, month), so it goes out once."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from incidents.db import Base


class ReportDelivery(Base):
    __tablename__ = "report_deliveries"
    __table_args__ = (UniqueConstraint("customer_id", "month", name="uq_report_deliveries_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    month: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | failed
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
