"""Weekly on-call rotations, their members in order, and overrides (someone covers from–to)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.db import Base
from incidents.models.user import User


class Rotation(Base):
    __tablename__ = "rotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    handoff_weekday: Mapped[int]  # 0 = Monday
    handoff_time: Mapped[str] = mapped_column(String(5))  # "09:00", local to `timezone`
    start_date: Mapped[date]
    created_at: Mapped[datetime]

    members: Mapped[list[RotationMember]] = relationship(
        order_by="RotationMember.position", cascade="all, delete-orphan", back_populates="rotation")
    overrides: Mapped[list[RotationOverride]] = relationship(
        order_by="RotationOverride.start", cascade="all, delete-orphan", back_populates="rotation")


class RotationMember(Base):
    __tablename__ = "rotation_members"
    __table_args__ = (UniqueConstraint("rotation_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rotation_id: Mapped[int] = mapped_column(ForeignKey("rotations.id", ondelete="CASCADE"))
    position: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    rotation: Mapped[Rotation] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class RotationOverride(Base):
    __tablename__ = "rotation_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    rotation_id: Mapped[int] = mapped_column(ForeignKey("rotations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    start: Mapped[datetime]
    end: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    rotation: Mapped[Rotation] = relationship(back_populates="overrides")
    user: Mapped[User] = relationship()
