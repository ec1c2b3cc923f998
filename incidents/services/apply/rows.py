"""Setting a row's columns only where they differ, so an unchanged row is reported (and left) unchanged."""
from __future__ import annotations

from typing import Any


def assign(row: Any, **values: Any) -> bool:
    """Set each attribute that differs; True when anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed
