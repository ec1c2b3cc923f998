"""The JSON API: reports, lifecycle verbs, the timeline, filters, cursors, keys and scopes."""
from datetime import timedelta

import pytest

from tests.helpers import bearer


@pytest.fixture
def write_key(make):
    make.rules()
    make.service()
    return make.api_key("write")


def report(client, key, **fields):
    body = {"title": "Checkout outage in eu-west", "description": "Customers cannot pay", "customer": "acme", **fields}
    return client.post("/api/v1/incidents", json=body, headers=bearer(key))


def act(client, key, incident_id, verb, **body):
    return client.post(f"/api/v1/incidents/{incident_id}/{verb}", json=body, headers=bearer(key))


def test_report_opens_a_classified_incident_with_a_deadline(client, write_key, clock):
    response = report(client, write_key)
    assert response.status_code == 201
    incident = response.json
    assert {k: incident[k] for k in ("number", "status", "severity_class", "category", "customer", "origin")} == {
        "number": incident["id"], "status": "triggered", "severity_class": 1, "category": "outage",
        "customer": "acme", "origin": "report"}
    assert incident["opened_at"] == "2026-11-23T08:30:00+00:00"
    assert incident["response_due_at"] == "2026-11-23T10:30:00+00:00"
    assert incident["classification"] == {"rule": "outage", "reason": "title mentions 'outage'"}


def test_report_with_category_and_service(client, write_key):
    response = report(client, write_key, title="Odd logins", category="security_breach", service="checkout")
    assert (response.json["severity_class"], response.json["service"]) == (1, "checkout")


@pytest.mark.parametrize("fields, status, message", [
    ({"customer": "acmee"}, 422, "customer: unknown customer 'acmee'"),
    ({"service": "billing"}, 422, "service: 'acme' has no service 'billing'"),
    ({"category": "weather"}, 422, "category: unknown category 'weather'"),
    ({"title": ""}, 422, "title: Length must be between 1 and 500."),
    ({"title": 7}, 422, "title: Not a valid string."),
])
def test_bad_reports_are_refused_and_nothing_is_stored(client, write_key, make, fields, status, message):
    response = report(client, write_key, **fields)
    assert response.status_code == status
    assert response.json["error"]["message"].startswith(message)
    listing = client.get("/api/v1/incidents", headers=bearer(write_key)).json
    assert listing["items"] == []


def test_lifecycle_acknowledge_assign_comment_resolve_reopen(client, write_key, make, clock):
    make.user("ana@ops.example")
    incident_id = report(client, write_key).json["id"]
    clock.advance(minutes=3)
    ack = act(client, write_key, incident_id, "acknowledge")
    assert ack.json["status"] == "acknowledged"
    assert ack.json["acknowledged_at"] == "2026-11-23T08:33:00+00:00"
    assert ack.json["acknowledged_by"] == "api key tests-write"
    assert act(client, write_key, incident_id, "acknowledge").status_code == 200  # a double tap is harmless
    assert act(client, write_key, incident_id, "assign", assignee="ANA@ops.example").json["assignee"] == "ana@ops.example"
    assert act(client, write_key, incident_id, "comment", text="Rolling back deploy 4411").status_code == 200
    assert act(client, write_key, incident_id, "resolve", note="rolled back").json["status"] == "resolved"
    assert act(client, write_key, incident_id, "acknowledge").status_code == 409
    reopened = act(client, write_key, incident_id, "reopen").json
    assert (reopened["status"], reopened["acknowledged_at"], reopened["resolved_at"]) == ("triggered", None, None)

    timeline = client.get(f"/api/v1/incidents/{incident_id}/timeline", headers=bearer(write_key)).json["items"]
    assert [e["kind"] for e in timeline] == ["opened", "acknowledged", "assigned", "comment", "resolved", "reopened"]
    assert all(e["source"] == "api" and e["actor"] == "api key tests-write" for e in timeline)
    assert timeline[3]["message"] == "Rolling back deploy 4411"
    assert timeline[4]["message"].endswith(": rolled back")


def test_reclassify_moves_the_deadline_from_the_opening_time(client, write_key, clock):
    incident = report(client, write_key, title="Report export is slow").json
    assert incident["severity_class"] == 2
    clock.advance(hours=1)
    response = act(client, write_key, incident["id"], "reclassify", severity_class=1, reason="customer cannot invoice")
    assert response.json["severity_class"] == 1
    assert response.json["response_due_at"] == "2026-11-23T10:30:00+00:00"
    event = client.get(f"/api/v1/incidents/{incident['id']}/timeline", headers=bearer(write_key)).json["items"][-1]
    assert event["kind"] == "reclassified"
    assert event["message"] == "Class 2 → 1 by api key tests-write: customer cannot invoice"
    assert act(client, write_key, incident["id"], "reclassify", severity_class=1, reason="again").status_code == 409
    assert act(client, write_key, incident["id"], "reclassify", severity_class=4, reason="x").status_code == 422
    assert act(client, write_key, incident["id"], "reclassify", severity_class=2).status_code == 422


@pytest.mark.parametrize("verb, body, status", [
    ("assign", {"assignee": "nobody@ops.example"}, 422),
    ("comment", {"text": ""}, 422),
    ("reopen", {}, 409),
])
def test_action_errors(client, write_key, verb, body, status):
    incident_id = report(client, write_key).json["id"]
    response = act(client, write_key, incident_id, verb, **body)
    assert response.status_code == status
    assert set(response.json["error"]) >= {"code", "message"}


@pytest.mark.parametrize("path", ["/api/v1/incidents/999", "/api/v1/incidents/99999999999999999999999",
                                  "/api/v1/incidents/0", "/api/v1/incidents/abc"])
def test_missing_incidents_are_404(client, write_key, path):
    response = client.get(path, headers=bearer(write_key))
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_list_filters_and_cursor(client, write_key, make, clock):
    make.customer("globex")
    for n in range(5):
        report(client, write_key, title=f"Button {n} misaligned")
    report(client, write_key, title="Outage of SMS", customer="globex")
    key = write_key
    everything = client.get("/api/v1/incidents?limit=4", headers=bearer(key)).json
    assert len(everything["items"]) == 4 and everything["next"]
    rest = client.get(f"/api/v1/incidents?limit=4&cursor={everything['next']}", headers=bearer(key)).json
    assert len(rest["items"]) == 2 and rest["next"] is None
    ids = [i["id"] for i in everything["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6

    globex = client.get("/api/v1/incidents?customer=globex", headers=bearer(key)).json["items"]
    assert [i["title"] for i in globex] == ["Outage of SMS"]
    class3 = client.get("/api/v1/incidents?severity_class=3&status=triggered", headers=bearer(key)).json["items"]
    assert len(class3) == 5
    assert client.get("/api/v1/incidents?service=checkout", headers=bearer(key)).json["items"] == []


@pytest.mark.parametrize("query", ["severity_class=4", "status=opened", "limit=0", "limit=1000",
                                   "cursor=bogus!!", "severity_class=99999999999999999999999"])
def test_bad_list_queries_are_4xx(client, write_key, query):
    response = client.get(f"/api/v1/incidents?{query}", headers=bearer(write_key))
    assert response.status_code in (400, 422)
    assert response.json["error"]["message"]


def test_query_with_nul_byte_is_not_a_500(client, write_key):
    response = client.get("/api/v1/incidents?customer=ac%00me", headers=bearer(write_key))
    assert response.status_code < 500


def test_scopes(client, make):
    make.rules()
    make.service()
    read_key, write_key, admin_key = make.api_key("read"), make.api_key("write"), make.api_key("admin")
    assert client.get("/api/v1/incidents").status_code == 401
    assert client.get("/api/v1/incidents", headers=bearer("vgl_wrong")).status_code == 401
    assert client.get("/api/v1/incidents", headers=bearer(read_key)).status_code == 200
    assert report(client, read_key).status_code == 403
    assert report(client, write_key).status_code == 201
    assert client.get("/api/v1/api-keys", headers=bearer(write_key)).status_code == 403
    assert client.get("/api/v1/api-keys", headers=bearer(admin_key)).status_code == 200


def test_api_keys_shown_once_and_revocable(client, make):
    admin = make.api_key("admin")
    created = client.post("/api/v1/api-keys", json={"name": "grafana", "scope": "read"}, headers=bearer(admin))
    assert created.status_code == 201
    new_key = created.json["key"]
    assert created.json["hint"] == new_key[-4:]
    listing = client.get("/api/v1/api-keys", headers=bearer(admin)).json["items"]
    assert all("key" not in k for k in listing)
    assert new_key not in str(listing)
    assert client.get("/api/v1/incidents", headers=bearer(new_key)).status_code == 200
    assert client.delete(f"/api/v1/api-keys/{created.json['id']}", headers=bearer(admin)).status_code == 204
    assert client.get("/api/v1/incidents", headers=bearer(new_key)).status_code == 401
    bad = client.post("/api/v1/api-keys", json={"name": "x", "scope": "root"}, headers=bearer(admin))
    assert bad.status_code == 422 and bad.json["error"]["message"].startswith("scope:")


def test_keys_are_stored_hashed(session, make):
    from incidents.models import ApiKey, Integration
    key = make.api_key("read")
    svc = make.service()
    stored = [k.key_hash for k in session.query(ApiKey)] + [i.key_hash for i in session.query(Integration)]
    assert key not in stored and not set(svc.keys.values()) & set(stored)


def test_health_and_openapi(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}
    spec = client.get("/api/openapi.json").json
    assert {"/v2/enqueue", "/api/v1/alerts/alertmanager", "/api/v1/incidents"} <= set(spec["paths"])
    props = spec["components"]["schemas"]["IncidentOut"]["properties"]
    assert {"id", "number", "status", "severity_class", "response_due_at", "classification"} <= set(props)


def test_an_incidents_alerts_with_raw_payloads(client, make):
    svc = make.service()
    key = make.api_key("read")
    for n in range(3):
        client.post("/api/v1/alerts", json={"summary": "Queue stuck", "dedup_key": "q", "details": {"n": n}},
                    headers=bearer(svc.keys["generic"]))
    incident_id = client.get("/api/v1/incidents", headers=bearer(key)).json["items"][0]["id"]
    page = client.get(f"/api/v1/incidents/{incident_id}/alerts?limit=2", headers=bearer(key)).json
    assert [a["details"]["n"] for a in page["items"]] == [2, 1]
    rest = client.get(f"/api/v1/incidents/{incident_id}/alerts?cursor={page['next']}", headers=bearer(key)).json
    assert [a["raw"]["details"]["n"] for a in rest["items"]] == [0] and rest["next"] is None
