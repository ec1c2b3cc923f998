"""The audit trail: who changed what, when, from where and through which door.

Append-only; each row carries the hash of the row before it, so an edited or deleted row breaks
the chain (verified by incidents.services.audit.verify).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from incidents.db import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    actor_user_id: Mapped[int | None]  # no foreign key: the trail outlives the user
    ip: Mapped[str | None] = mapped_column(String(45))
    door: Mapped[str] = mapped_column(String(16))  # console | api | cli | system
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
