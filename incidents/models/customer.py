"""Customers (with their SLA policy), their services, and the integrations that feed them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.db import Base


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Response time per class in minutes, e.g. {"1": 60}; classes not named use the defaults.
    sla_minutes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # How each class's clock runs, e.g. {"3": "working_hours"}; classes not named run 24x7.
    sla_clock: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    uptime_target: Mapped[float | None]
    contacts: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]

    services: Mapped[list[Service]] = relationship(back_populates="customer")


class Service(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    auto_resolve: Mapped[bool] = mapped_column(default=False)
    escalation_policy_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_policies.id"))
    created_at: Mapped[datetime]

    customer: Mapped[Customer] = relationship(back_populates="services")
    integrations: Mapped[list[Integration]] = relationship(back_populates="service")


class Integration(Base):
    """A door for one monitoring system into one service; its key is stored as a hash only."""

    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("service_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    service: Mapped[Service] = relationship(back_populates="integrations")
