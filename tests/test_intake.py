"""Alerts from monitoring systems become incidents: open, count duplicates, acknowledge, resolve."""
from sqlalchemy import func, select

from incidents.models import Alert, Incident, IncidentEvent
from tests.helpers import bearer, fixture


def incidents(session):
    session.commit()  # end the test's read snapshot so it sees what the requests committed
    session.expire_all()
    return list(session.scalars(select(Incident).order_by(Incident.id)))


def post_alertmanager(client, key, name):
    return client.post("/api/v1/alerts/alertmanager", json=fixture(name), headers=bearer(key))


def test_alertmanager_group_opens_one_incident_per_alert(client, session, make):
    make.rules()
    svc = make.service()
    response = post_alertmanager(client, svc.keys["alertmanager"], "alertmanager-v4-firing.json")
    assert response.status_code == 202
    assert [a["created"] for a in response.json["alerts"]] == [True, True]
    rows = incidents(session)
    assert [(i.dedup_key, i.severity_class, i.category, i.status) for i in rows] == [
        ("6a9b4f73a4ca4b29", 1, "outage", "triggered"),
        ("69c2e62f0b0aec37", 1, "outage", "triggered"),
    ]
    assert rows[0].title == "HighErrorRate: 5xx rate > 5% for 5m on web-2"
    assert rows[0].classification_rule == "critical from monitoring"
    raw = session.scalars(select(Alert.raw).order_by(Alert.id)).first()
    assert raw["fingerprint"] == "6a9b4f73a4ca4b29" and raw["labels"]["instance"] == "web-2"


def test_alertmanager_resolved_group_resolves_its_incidents(client, session, make):
    make.rules()
    svc = make.service()
    post_alertmanager(client, svc.keys["alertmanager"], "alertmanager-v4-firing.json")
    response = post_alertmanager(client, svc.keys["alertmanager"], "alertmanager-v4-resolved.json")
    assert response.status_code == 202
    rows = incidents(session)
    assert [i.status for i in rows] == ["resolved", "resolved"]
    assert rows[0].resolved_by == "integration checkout/alertmanager"


def test_repeated_firing_counts_alerts_on_the_open_incident(client, session, make):
    svc = make.service()
    for _ in range(3):
        post_alertmanager(client, svc.keys["alertmanager"], "alertmanager-v4-firing.json")
    assert [i.alert_count for i in incidents(session)] == [3, 3]
    assert session.scalar(select(func.count(Alert.id))) == 6


def test_firing_after_resolve_opens_a_new_incident(client, session, make):
    svc = make.service()
    key = svc.keys["alertmanager"]
    post_alertmanager(client, key, "alertmanager-v4-firing.json")
    post_alertmanager(client, key, "alertmanager-v4-resolved.json")
    post_alertmanager(client, key, "alertmanager-v4-firing.json")
    assert [i.status for i in incidents(session)] == ["resolved", "resolved", "triggered", "triggered"]


def test_service_without_auto_resolve_keeps_incident_open_and_says_why(client, session, make):
    svc = make.service(auto_resolve=False)
    post_alertmanager(client, svc.keys["alertmanager"], "alertmanager-v4-firing.json")
    post_alertmanager(client, svc.keys["alertmanager"], "alertmanager-v4-resolved.json")
    assert [i.status for i in incidents(session)] == ["triggered", "triggered"]
    kinds = session.scalars(select(IncidentEvent.kind).order_by(IncidentEvent.id)).all()
    assert kinds.count("alert_resolved") == 2


def test_pagerduty_events_from_alertmanager(client, session, make):
    make.rules()
    svc = make.service()
    trigger = fixture("pagerduty-v2-trigger-from-alertmanager.json")
    trigger["routing_key"] = svc.keys["pagerduty"]
    response = client.post("/v2/enqueue", json=trigger)
    assert response.status_code == 202
    assert response.json == {"status": "success", "message": "Event processed",
                             "dedup_key": trigger["dedup_key"]}
    [incident] = incidents(session)
    assert incident.title == "[FIRING:2] HighErrorRate checkout (prod critical)"
    raw = session.scalars(select(Alert.raw)).one()
    assert raw["dedup_key"] == trigger["dedup_key"] and "routing_key" not in raw  # the key is a secret
    assert incident.severity_class == 1
    resolve = fixture("pagerduty-v2-resolve-from-alertmanager.json")
    resolve["routing_key"] = svc.keys["pagerduty"]
    assert client.post("/v2/enqueue", json=resolve).status_code == 202
    assert incidents(session)[0].status == "resolved"


def test_pagerduty_acknowledge_and_generated_dedup_key(client, session, make):
    svc = make.service()
    event = {"routing_key": svc.keys["pagerduty"], "event_action": "trigger",
             "payload": {"summary": "Disk full on db-2", "source": "db-2", "severity": "warning"}}
    response = client.post("/v2/enqueue", json=event)
    dedup_key = response.json["dedup_key"]
    assert response.status_code == 202 and len(dedup_key) == 32
    ack = {"routing_key": svc.keys["pagerduty"], "event_action": "acknowledge", "dedup_key": dedup_key}
    assert client.post("/v2/enqueue", json=ack).status_code == 202
    [incident] = incidents(session)
    assert incident.status == "acknowledged" and incident.acknowledged_by == "integration checkout/pagerduty"


def test_pagerduty_errors_speak_both_dialects(client, make):
    svc = make.service()
    response = client.post("/v2/enqueue", json={"routing_key": svc.keys["pagerduty"], "event_action": "trigger",
                                               "payload": {"summary": "x", "source": "y", "severity": "bad"}})
    assert response.status_code == 400
    assert response.json["status"] == "invalid event"
    assert response.json["error"]["message"].startswith("payload.severity: expected one of")
    response = client.post("/v2/enqueue", json={"routing_key": "nope", "event_action": "trigger"})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_grafana_webhook(client, session, make):
    make.rules()
    svc = make.service()
    payload = {"receiver": "vigil", "status": "firing", "version": "1", "orgId": 1,
               "groupKey": "{}:{alertname=\"Latency\"}", "title": "[FIRING:1] Latency",
               "alerts": [{"status": "firing", "labels": {"alertname": "Latency", "grafana_folder": "web"},
                           "annotations": {"summary": "p99 latency above 2s"},
                           "startsAt": "2026-11-23T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                           "fingerprint": "a1b2c3", "values": {"B": 2.4}}]}
    response = client.post("/api/v1/alerts/grafana", json=payload, headers=bearer(svc.keys["grafana"]))
    assert response.status_code == 202
    [incident] = incidents(session)
    assert (incident.dedup_key, incident.severity_class, incident.category) == ("a1b2c3", 2, "performance")


def test_generic_alert_with_key_in_query_and_implicit_dedup(client, session, make):
    make.rules()
    svc = make.service()
    body = {"summary": "Nightly export has missing data", "source": "cron@batch-1"}
    for _ in range(2):
        response = client.post(f"/api/v1/alerts?key={svc.keys['generic']}", json=body)
        assert response.status_code == 202
    [incident] = incidents(session)
    assert (incident.alert_count, incident.severity_class, incident.category) == (2, 2, "data")
    client.post(f"/api/v1/alerts?key={svc.keys['generic']}", json={**body, "status": "resolved"})
    assert incidents(session)[0].status == "resolved"


def test_customer_sla_sets_the_deadline(client, session, make):
    make.rules()
    customer = make.customer("globex", sla_minutes={"1": 30})
    svc = make.service("messaging", customer=customer)
    client.post("/api/v1/alerts", json={"summary": "SMS messages not sending"}, headers=bearer(svc.keys["generic"]))
    [incident] = incidents(session)
    assert (incident.response_due_at - incident.opened_at).total_seconds() == 30 * 60
