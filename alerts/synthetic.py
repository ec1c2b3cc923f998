"""A test alert sent from the console: it takes the path a monitoring system's alert takes (the
generic parser, then ingest), so it proves the service, its policy and the paging behind it work."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from alerts import services
from alerts.sources import generic
from incidents.domain.enums import IntegrationType
from incidents.services import audit, integrations
from incidents.services.actor import Actor
from incidents.services.errors import Conflict, Invalid


def send_test_alert(session: Session, *, service_name: str, integration_id: int, actor: Actor,
                    where: audit.Where, now: datetime) -> services.Outcome:
    """Trigger an info alert on a generic integration. Its dedup key is fixed per integration, so
    pressing again while the test incident is open counts on it instead of paging again."""
    integration = integrations.get_integration(session, service_name=service_name, integration_id=integration_id)
    if integration.type != IntegrationType.GENERIC:
        raise Invalid(f"a test alert goes through a generic integration; {integration.name} is {integration.type}")
    if integration.revoked_at is not None:
        raise Conflict(f"{integration.name}'s key is revoked; rotate its key to use it again")
    alert = generic.parse({
        "summary": f"Test alert from the console by {actor.label}",
        "source": "vigil console",
        "severity": "info",
        "dedup_key": f"vigil-console-test-{integration.id}",
        "details": {"sent_by": actor.label, "integration": integration.name},
    })
    [outcome] = services.ingest(session, integration=integration, alerts=[alert])
    audit.record(session, actor=actor, where=where, action="integration.test_alert",
                 target=f"{service_name}/{integration.name}", now=now,
                 details={"incident_id": outcome.incident_id, "created": outcome.created})
    return outcome
