"""People: console users and on-call staff, with their sign-in credentials."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, false
from sqlalchemy.orm import Mapped, mapped_column

from incidents.db import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(32))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # The person texted STOP: Twilio will refuse to deliver, so pages go by other channels.
    sms_opted_out: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime | None]
    # Set by an admin or a breach playbook: the next sign-in must choose a new password.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    totp_secret: Mapped[str | None] = mapped_column(String(255))  # sealed (a Fernet token), see second_factor
    totp_enrolled_at: Mapped[datetime | None]
    # The last TOTP time step accepted: a code is good once, so a replayed code is refused.
    totp_last_step: Mapped[int | None]
    # Bumped by "sign out everywhere", a password change or a deactivation: older sessions end.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
