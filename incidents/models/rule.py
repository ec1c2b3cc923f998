"""Classification rules, kept in the database in their order (first match wins)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from incidents.db import Base


class ClassificationRule(Base):
    __tablename__ = "classification_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    severity_class: Mapped[int]
    category: Mapped[str] = mapped_column(String(64))
    match: Mapped[dict[str, Any]] = mapped_column(default=dict)
