"""Escalation policies and each incident's escalation state (the engine's table of due work)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from incidents.db import Base


class EscalationPolicy(Base):
    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    repeat: Mapped[int] = mapped_column(default=0)
    # Severity classes whose pages found outside working hours wait for working hours.
    defer_classes: Mapped[list[Any]] = mapped_column(default=list)
    # [{"targets": ["rotation:triage", "user:a@b", "slack:#ops"], "channels": ["sms", "slack"],
    #   "escalate_after": seconds, "when": "working_hours" | "outside_working_hours" | null}]
    steps: Mapped[list[Any]] = mapped_column(default=list)


class Escalation(Base):
    """Where an incident is in its policy. `next_at` is when the engine must act next; NULL = stopped."""

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_due", "next_at", sqlite_where=text("next_at IS NOT NULL"),
              postgresql_where=text("next_at IS NOT NULL")),
    )

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policies.id"))
    step: Mapped[int] = mapped_column(default=-1)  # -1: no step paged yet
    cycle: Mapped[int] = mapped_column(default=0)
    next_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16))  # active | deferred | stopped | exhausted
    updated_at: Mapped[datetime]
