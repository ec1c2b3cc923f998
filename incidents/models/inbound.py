"""Inbound provider messages already handled, so a redelivered webhook acts once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from incidents.db import Base


class InboundMessage(Base):
    __tablename__ = "inbound_messages"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)  # Twilio MessageSid
    received_at: Mapped[datetime]
