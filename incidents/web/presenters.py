"""Models to API dictionaries (the schemas describe them; these fill them)."""
from __future__ import annotations

from incidents.models import Alert, ApiKey, Incident, IncidentEvent


def incident_json(incident: Incident) -> dict:
    return {
        "id": incident.id,
        "number": incident.id,
        "title": incident.title,
        "description": incident.description,
        "status": incident.status,
        "severity_class": incident.severity_class,
        "category": incident.category,
        "customer": incident.customer.slug if incident.customer else None,
        "service": incident.service.name if incident.service else None,
        "origin": incident.origin,
        "assignee": incident.assignee.email if incident.assignee else None,
        "opened_at": incident.opened_at,
        "response_due_at": incident.response_due_at,
        "acknowledged_at": incident.acknowledged_at,
        "responded_at": incident.responded_at,
        "breached_at": incident.breached_at,
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": incident.resolved_at,
        "resolved_by": incident.resolved_by,
        "dedup_key": incident.dedup_key,
        "alert_count": incident.alert_count,
        "source_severity": incident.source_severity,
        "classification": {"rule": incident.classification_rule,
                           "reason": incident.classification_reason},
    }


def event_json(event: IncidentEvent) -> dict:
    return {"id": event.id, "at": event.at, "kind": event.kind, "actor": event.actor,
            "source": event.source, "message": event.message, "data": event.data}


def api_key_json(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "scope": key.scope, "hint": key.key_hint,
            "created_at": key.created_at, "last_used_at": key.last_used_at,
            "revoked": key.revoked_at is not None, "customer": key.customer.slug if key.customer else None}


def alert_json(alert: Alert) -> dict:
    return {"id": alert.id, "received_at": alert.received_at, "action": alert.action,
            "dedup_key": alert.dedup_key, "summary": alert.summary, "source": alert.source,
            "severity": alert.severity, "details": alert.details, "raw": alert.raw}
