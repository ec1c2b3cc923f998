"""Who did something, as written on the timeline."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    label: str
    user_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")

    @classmethod
    def api_key(cls, name: str) -> Actor:
        return cls(f"api key {name}")

    @classmethod
    def integration(cls, service: str, name: str) -> Actor:
        return cls(f"integration {service}/{name}")

    @classmethod
    def user(cls, user_id: int, email: str) -> Actor:
        return cls(email, user_id)
