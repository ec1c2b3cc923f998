"""Heartbeats: a monitored job pings its key every interval; a silence past interval + grace is an incident."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.db import Base


class Heartbeat(Base):
    """One expected ping. `due_at` is when the engine must look next (the last ping, or the
    configuration, plus interval + grace); NULL while a missed heartbeat's incident is open."""

    __tablename__ = "heartbeats"
    __table_args__ = (
        Index("ix_heartbeats_due", "due_at", sqlite_where=text("due_at IS NOT NULL"),
              postgresql_where=text("due_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    severity_class: Mapped[int]
    interval_seconds: Mapped[int]
    grace_seconds: Mapped[int]
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 only (services.keys)
    key_hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    last_ping_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    missed_at: Mapped[datetime | None]  # when the engine found it missing; NULL while pinging
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))

    service: Mapped["Service"] = relationship()  # noqa: F821 (incidents.models.customer)
