"""An incident and its timeline."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, column, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.db import Base
from incidents.models.customer import Customer, Service
from incidents.models.user import User

OPEN = "status != 'resolved'"


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # At most one open incident per (service, dedup key): the database enforces dedup.
        Index("uq_incidents_open_dedup", "service_id", "dedup_key", unique=True,
              sqlite_where=text(OPEN), postgresql_where=text(OPEN)),
        Index("ix_incidents_status_id", "status", "id"),
        Index("ix_incidents_customer_id_id", "customer_id", "id"),
        Index("ix_incidents_service_id_id", "service_id", "id"),
        Index("ix_incidents_class_id", "severity_class", "id"),
        # The incident list filters, each read newest first (ORDER BY id DESC): see
        # incidents.services.listing and migration 0004 (which also adds, on PostgreSQL,
        # statistics on customer_id and service_id together, a thing models cannot declare).
        Index("ix_incidents_assignee_id_id", "assignee_id", "id"),
        # Monthly SLA reports read one month of one customer (or of all): bench/RESULTS.md.
        Index("ix_incidents_customer_id_opened_at", "customer_id", "opened_at"),
        Index("ix_incidents_opened_at", "opened_at"),
        Index("ix_incidents_open_id", "id", sqlite_where=text(OPEN), postgresql_where=text(OPEN)),
        # The SLA sweep's due work (incidents.services.engine.sla_sweep); NULL once responded.
        Index("ix_incidents_sla_check_at", "sla_check_at", sqlite_where=text("sla_check_at IS NOT NULL"),
              postgresql_where=text("sla_check_at IS NOT NULL")),
        # Substring search on titles; PostgreSQL only (trigrams from pg_trgm), SQLite scans.
        Index("ix_incidents_title_trgm", func.lower(column("title")).label("title_lower"),
              postgresql_using="gin", postgresql_ops={"title_lower": "gin_trgm_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    severity_class: Mapped[int]
    category: Mapped[str] = mapped_column(String(64))
    classification_rule: Mapped[str] = mapped_column(String(200))
    classification_reason: Mapped[str] = mapped_column(String(1000))
    origin: Mapped[str] = mapped_column(String(16))  # alert | report
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    dedup_key: Mapped[str | None] = mapped_column(String(255))
    source_severity: Mapped[str | None] = mapped_column(String(32))
    alert_count: Mapped[int] = mapped_column(default=0)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime]
    response_due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    # First response by a person (acknowledge, assign, comment or resolve; never the system).
    responded_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    # How many SLA warning thresholds have been sent, and when the sweep must next look.
    sla_warned: Mapped[int] = mapped_column(default=0, server_default="0")
    sla_check_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    last_alert_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    customer: Mapped[Customer | None] = relationship()
    service: Mapped[Service | None] = relationship()
    assignee: Mapped[User | None] = relationship()


class IncidentEvent(Base):
    """One line of an incident's timeline: what happened, who did it, through which door."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
