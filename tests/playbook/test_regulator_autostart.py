"""`auto_start: true` in breach_playbook: a breach alert starts a live playbook run for its incident
(beside the regulator's clock); a refusal never loses the incident."""
from __future__ import annotations

from sqlalchemy import select

from incidents.models import IncidentEvent, PlaybookRun, RegulatorClock, Setting
from tests.helpers import bearer

PLAYBOOK = {"notify_customers": "all", "template": "We are writing about a security incident affecting {service}.",
            "subject": "Security incident notice", "auto_start": True, "secret_store": "vigil",
            "rotate": [{"type": "vigil_api_keys"}], "drill": {"every": "quarter", "recipients": [], "targets": {}}}


def _breach_alert(client, make, dedup_key: str) -> int:
    response = client.post("/api/v1/alerts", headers=bearer(make.checkout.keys["generic"]),
                           json={"summary": "Intrusion on the database host", "severity": "critical",
                                 "dedup_key": dedup_key})
    assert response.status_code == 202, response.json
    return response.json["alerts"][0]["incident_id"]


def test_a_breach_alert_starts_the_playbook_when_configured(client, session, make, clock):
    make.rules()
    make.checkout = make.service()
    session.add(Setting(key="breach_playbook", value=PLAYBOOK))
    session.commit()
    incident_id = _breach_alert(client, make, "intrusion-1")
    session.commit()
    [run] = session.scalars(select(PlaybookRun)).all()
    assert (run.incident_id, run.mode) == (incident_id, "live")
    assert session.get(RegulatorClock, incident_id) is not None

    # One live run at a time: a second breach opens its incident and clock, and says why no run.
    second = _breach_alert(client, make, "intrusion-2")
    session.commit()
    assert second != incident_id and session.get(RegulatorClock, second) is not None
    assert len(session.scalars(select(PlaybookRun)).all()) == 1
    [note] = session.scalars(select(IncidentEvent.message).where(
        IncidentEvent.incident_id == second, IncidentEvent.kind == "playbook_not_started")).all()
    assert note.startswith("Breach playbook not started automatically: ")
