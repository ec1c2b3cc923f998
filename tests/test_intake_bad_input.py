"""Bad input at the intake doors: a clear 4xx JSON error, nothing stored half-way, never a 500."""
import json

import pytest
from sqlalchemy import func, select

from incidents.models import Alert, Incident
from tests.helpers import bearer, fixture


def stored(session):
    session.commit()
    return (session.scalar(select(func.count(Incident.id))), session.scalar(select(func.count(Alert.id))))


@pytest.fixture
def generic(make):
    return make.service().keys["generic"]


def post_raw(client, key, data, content_type="application/json"):
    return client.post("/api/v1/alerts", data=data, content_type=content_type, headers=bearer(key))


@pytest.mark.parametrize("key", ["", "not-a-key", "0" * 32])
def test_unknown_keys_get_401_without_reading_the_body(client, session, key):
    # The body is not even JSON: the key is checked first, and nothing says which keys exist.
    response = post_raw(client, key, b"{{{ not json")
    assert response.status_code == 401
    assert response.json == {"error": {"code": "unauthorized", "message": "unknown or revoked integration key"}}
    assert stored(session) == (0, 0)


def test_revoked_key_stops_working_at_once(client, session, make, generic):
    assert post_raw(client, generic, json.dumps({"summary": "a"})).status_code == 202
    from incidents.services import integrations
    row, new_key = integrations.rotate_key(session, service_name="checkout", name="generic")
    session.commit()
    assert post_raw(client, generic, json.dumps({"summary": "b"})).status_code == 401
    assert post_raw(client, new_key, json.dumps({"summary": "b"})).status_code == 202


def test_key_of_another_integration_type_is_told_where_to_post(client, make):
    svc = make.service()
    response = post_raw(client, svc.keys["alertmanager"], json.dumps({"summary": "x"}))
    assert response.status_code == 403
    assert "/api/v1/alerts/alertmanager" in response.json["error"]["message"]


@pytest.mark.parametrize("data, message", [
    (b"{\"summary\": ", "Failed to decode JSON"),
    (b"\xff\xfe\xfa not utf-8", "Failed to decode JSON"),
    (b"{\"summary\": \"nul \\u0000 here\"}", "NUL characters"),
    (b"{\"summary\": \"lone \\ud800 surrogate\"}", "unpaired surrogates"),
    (b"{\"summary\": \"x\", \"details\": {\"v\": NaN}}", "NaN is not valid JSON"),
    (b"[" * 5000 + b"]" * 5000, "nested"),
    (b"{\"summary\": \"x\", \"details\": {\"n\": " + b"9" * 5000 + b"}}", "Failed to decode JSON"),
])
def test_malformed_json_is_a_400(client, session, generic, data, message):
    response = post_raw(client, generic, data)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"
    assert message in response.json["error"]["message"]
    assert stored(session) == (0, 0)


@pytest.mark.parametrize("body, message", [
    ({}, "summary: required"),
    ({"summary": 5}, "summary: expected a string"),
    ({"summary": "x", "status": "open"}, "status: expected 'firing' or 'resolved'"),
    ({"summary": "x", "details": [1, 2]}, "details: expected a JSON object"),
    ({"summary": "x", "dedup_key": "k" * 256}, "dedup_key: at most 255 characters"),
    ([{"summary": "x"}], "body: expected a JSON object"),
])
def test_wrong_shapes_name_the_field(client, session, generic, body, message):
    response = post_raw(client, generic, json.dumps(body))
    assert response.status_code == 400
    assert response.json["error"]["message"] == message
    assert stored(session) == (0, 0)


def test_wrong_content_type_is_415(client, generic):
    response = post_raw(client, generic, "summary=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"


def test_body_over_the_limit_is_413(client, generic, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = post_raw(client, generic, json.dumps({"summary": "x", "details": {"pad": "a" * limit}}))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_huge_integers_html_and_sql_are_stored_as_data(client, session, generic):
    body = {"summary": "<script>alert(1)</script>'; DROP TABLE incidents; --",
            "details": {"big": 10**40, "neg": -(10**30)}}
    response = post_raw(client, generic, json.dumps(body))
    assert response.status_code == 202
    session.commit()
    incident = session.scalars(select(Incident)).one()
    assert incident.title == body["summary"]
    alert = session.scalars(select(Alert)).one()
    assert alert.details["big"] == 10**40


def test_a_bad_alert_in_a_group_stores_none_of_the_group(client, session, make):
    svc = make.service()
    payload = fixture("alertmanager-v4-firing.json")
    payload["alerts"][1]["status"] = "exploded"
    response = client.post("/api/v1/alerts/alertmanager", json=payload, headers=bearer(svc.keys["alertmanager"]))
    assert response.status_code == 400
    assert response.json["error"]["message"] == "alerts[1].status: expected 'firing' or 'resolved'"
    assert stored(session) == (0, 0)


def test_alertmanager_payload_of_another_version_is_refused(client, make):
    svc = make.service()
    payload = {**fixture("alertmanager-v4-firing.json"), "version": "3"}
    response = client.post("/api/v1/alerts/alertmanager", json=payload, headers=bearer(svc.keys["alertmanager"]))
    assert response.status_code == 400
    assert "version 4" in response.json["error"]["message"]


@pytest.mark.parametrize("event, message", [
    ({"event_action": "explode"}, "event_action: expected 'trigger', 'acknowledge' or 'resolve'"),
    ({"event_action": "resolve"}, "dedup_key: required to resolve"),
    ({"event_action": "trigger"}, "payload: expected a JSON object"),
    ({"event_action": "trigger", "payload": {"summary": "x", "severity": "info"}}, "payload.source: required"),
])
def test_pagerduty_event_errors(client, session, make, event, message):
    svc = make.service()
    response = client.post("/v2/enqueue", json={"routing_key": svc.keys["pagerduty"], **event})
    assert response.status_code == 400
    assert response.json["errors"] == [message]
    assert stored(session) == (0, 0)


def test_unknown_route_and_method_are_json(client):
    assert client.get("/api/v1/nope").json["error"]["code"] == "not_found"
    response = client.get("/api/v1/alerts")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"
