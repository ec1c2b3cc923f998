"""Writing the incident timeline."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain.enums import Source
from incidents.models import IncidentEvent
from incidents.services.actor import Actor


def record(session: Session, *, incident_id: int, kind: str, actor: Actor, source: Source,
           message: str, data: dict[str, Any] | None = None) -> IncidentEvent:
    event = IncidentEvent(incident_id=incident_id, at=clock.now(), kind=kind, actor=actor.label,
                          source=str(source), message=message, data=data or {})
    session.add(event)
    return event
