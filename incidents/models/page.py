"""The outbox: every page Vigil sends is a row before it is a message (DESIGN rules 1 and 3)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from incidents.db import Base


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (
        # Exactly one page per (incident, step, cycle, person or channel, channel kind).
        UniqueConstraint("incident_id", "step", "cycle", "recipient", "channel", name="uq_pages_once"),
        Index("ix_pages_due", "status", "next_attempt_at"),
        Index("ix_pages_reply", "user_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    step: Mapped[int]
    cycle: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recipient: Mapped[str] = mapped_column(String(100))  # "user:12" or "slack:#ops"
    channel: Mapped[str] = mapped_column(String(16))  # sms | slack
    address: Mapped[str] = mapped_column(String(100))  # phone number, Slack user or channel id
    code: Mapped[str | None] = mapped_column(String(8))  # short per-recipient reply code
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | failed | unknown | cancelled
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(100))
    thread: Mapped[str | None] = mapped_column(String(100))  # Slack message ts, for chat.update
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


PENDING_OR_SENDING = text("status IN ('pending', 'sending')")
