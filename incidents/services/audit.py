"""The audit trail: append a hash-chained row for every admin action and change of configuration."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from incidents.models import AuditEvent
from incidents.services.actor import Actor

GENESIS = "0" * 64
_LOCK_KEY = 0x56494749  # "VIGI": serialises appends on PostgreSQL so the chain never forks


@dataclass(frozen=True)
class Where:
    """Where an action came from: the door and, for the web, the client's address."""

    door: str
    ip: str | None = None


def record(session: Session, *, actor: Actor, where: Where, action: str, target: str,
           now: datetime, details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one row; its hash covers the previous row's hash, so history cannot be edited quietly."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    row = AuditEvent(at=now, actor=actor.label, actor_user_id=actor.user_id, ip=where.ip, door=where.door,
                     action=action, target=target[:300], details=details or {}, prev_hash=prev)
    row.hash = digest(row)
    session.add(row)
    session.flush()
    return row


def digest(row: AuditEvent) -> str:
    body = json.dumps([row.prev_hash, _iso(row.at), row.actor, row.actor_user_id, row.ip, row.door,
                       row.action, row.target, row.details], sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def verify(session: Session) -> list[str]:
    """Every break in the chain, in words; [] when the trail is intact."""
    problems, prev = [], GENESIS
    for row in session.scalars(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)):
        if row.prev_hash != prev:
            problems.append(f"row {row.id}: does not follow the row before it (a row was removed or inserted)")
        if digest(row) != row.hash:
            problems.append(f"row {row.id}: its contents do not match its hash (it was edited)")
        prev = row.hash
    return problems


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")
