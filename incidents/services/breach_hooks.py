"""What happens when an incident becomes a security breach (opened as one, or reclassified to one):
the regulator's 72-hour clock starts, and the breach playbook starts too when `breach_playbook`
says `auto_start: true`.

Callers check the category first (intake is the hot path: other incidents pay one comparison).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from incidents.domain.enums import Source
from incidents.models import Incident, Setting
from incidents.services import timeline
from incidents.services.actor import Actor
from incidents.services.errors import ServiceError
from incidents.services.playbook import regulator

PLAYBOOK_SETTING = "breach_playbook"


def on_breach(session: Session, *, incident: Incident, now: datetime) -> None:
    """Awareness is now: the incident was just opened or reclassified as a breach."""
    regulator.open(session, incident=incident, aware_at=now, now=now)
    setting = session.get(Setting, PLAYBOOK_SETTING)
    if setting is not None and (setting.value or {}).get("auto_start"):
        _auto_start(session, incident, now)


def _auto_start(session: Session, incident: Incident, now: datetime) -> None:
    """Start a live run; a refusal (one already running, ...) is written on the timeline, never
    allowed to undo the incident it was opened for."""
    from incidents.services.playbook import runs  # the playbook's runs import services that import us

    try:
        with session.begin_nested():
            runs.start(session, incident_id=incident.id, mode="live", actor=Actor.system(),
                       source=Source.SYSTEM, where=None, now=now)
    except ServiceError as refused:
        timeline.record(session, incident_id=incident.id, kind="playbook_not_started", actor=Actor.system(),
                        source=Source.SYSTEM,
                        message=f"Breach playbook not started automatically: {refused.message}")
