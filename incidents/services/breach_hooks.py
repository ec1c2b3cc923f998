"""What happens when an incident becomes a security breach (opened as one, or reclassified to one):
the regulator's 72-hour clock starts, and the breach playbook starts too when `breach_playbook`
says `auto_start: true`.

Callers check the category first (intake is the hot path: other incidents pay one comparison).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from incidents.domain.enums import Source
from incidents.models import Incident, Setting
from incidents.services import timeline
from incidents.services.actor import Actor
from incidents.services.errors import ServiceError
from incidents.services.playbook import regulator

PLAYBOOK_SETTING = "breach_playbook"
log = logging.getLogger(__name__)


def on_breach(session: Session, *, incident: Incident, now: datetime) -> None:
    """Awareness is now: the incident was just opened or reclassified as a breach."""
    regulator.open(session, incident=incident, aware_at=now, now=now)
    setting = session.get(Setting, PLAYBOOK_SETTING)
    if setting is not None and (setting.value or {}).get("auto_start"):
        _auto_start(session, incident, now)


def _auto_start(session: Session, incident: Incident, now: datetime) -> None:
    """Start a live run; a refusal (one already running, ...) is written on the timeline, never
    allowed to undo the incident it was opened for: a breach alert must open its incident even
    when the playbook cannot start."""
    from incidents.services.playbook import runs  # the playbook's runs import services that import us

    try:
        with session.begin_nested():
            runs.start(session, incident_id=incident.id, mode="live", actor=Actor.system(),
                       source=Source.SYSTEM, where=None, now=now)
    except ServiceError as refused:
        why = refused.message
    except Exception:  # noqa: BLE001 - a fault in the playbook must not lose the incident
        log.exception("auto-starting the breach playbook for incident %s failed", incident.id)
        why = "an internal error (see the logs); start it by hand"
    else:
        return
    timeline.record(session, incident_id=incident.id, kind="playbook_not_started", actor=Actor.system(),
                    source=Source.SYSTEM, message=f"Breach playbook not started automatically: {why}")
