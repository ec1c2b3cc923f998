"""A real Prometheus Alertmanager pages a running Vigil over HTTP on loopback.

Alertmanager's two ways of reaching Vigil are both exercised with one group of two critical
alerts: the webhook receiver (/api/v1/alerts/alertmanager, Bearer key from http_config) opens an
incident per alert fingerprint; the PagerDuty-compatible receiver (/v2/enqueue, routing_key) opens
one incident per group, keyed by the sha256 of Alertmanager's group key. Resolving the alerts in
Alertmanager resolves every incident (the service auto-resolves).
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from incidents.models import Alert, Incident, Integration
from tests.e2e.conftest import PAGERDUTY_ROUTE_KEY, WEBHOOK_ROUTE_KEY, http, wait_until

pytestmark = pytest.mark.e2e

TIMEOUT = 30.0  # seconds; Alertmanager notifies after group_wait 1s, then every group_interval 2s
ALERTNAME = "VigilE2EHighErrorRate"
ENDS_AT_ZERO = "0001-01-01T00:00:00Z"  # how Alertmanager writes "still firing"


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def group_key(route_key: str, group_labels: dict[str, str]) -> str:
    labels = ", ".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return f"{route_key}:{{{labels}}}"


def alert_bodies(service: str, ends_at: datetime | None = None) -> list[dict]:
    """Two alerts in one group (same alertname and service), as a Prometheus would post them.

    No startsAt: Alertmanager then stamps its own time, so group_wait holds the first
    notification until both alerts are in. (An alert that started longer than group_wait ago
    makes Alertmanager flush at once, possibly before the second alert of the POST is in.)"""
    common = {"alertname": ALERTNAME, "service": service, "severity": "critical", "env": "prod"}
    alerts = [
        {"labels": {**common, "instance": "web-2"},
         "annotations": {"summary": "5xx rate > 5% for 5m on web-2"}},
        {"labels": common,
         "annotations": {"summary": "5xx rate > 5% for 5m",
                         "runbook_url": "https://runbooks.example/checkout-5xx"},
         "generatorURL": "http://prometheus.local/graph?g0.expr=rate"},
    ]
    if ends_at is not None:
        for a in alerts:
            a["endsAt"] = iso(ends_at)
    return alerts


def test_alertmanager_firing_opens_and_resolved_closes(app, live_vigil, vigil_service,
                                                        alertmanager):
    Session = app.extensions["vigil.db"].sessionmaker

    def incidents() -> list[Incident]:
        # A fresh, short session each time: on SQLite every transaction takes the write lock
        # (BEGIN IMMEDIATE), so a poller holding one open would stall Vigil's own writes.
        with Session() as s:
            return list(s.scalars(select(Incident).order_by(Incident.id)))

    def alerts_received() -> list[tuple[Alert, str]]:
        with Session() as s:
            return [tuple(row) for row in s.execute(select(Alert, Integration.type)
                                  .join(Integration, Alert.integration_id == Integration.id)
                                  .order_by(Alert.id))]

    def describe() -> str:
        return repr([(i.id, i.dedup_key, i.status, i.severity_class, i.resolved_by)
                     for i in incidents()])

    service = vigil_service.name
    posted = alert_bodies(service)
    group_labels = {"alertname": ALERTNAME, "service": service}
    pd_dedup_key = hashlib.sha256(group_key(PAGERDUTY_ROUTE_KEY, group_labels).encode()).hexdigest()

    # -- firing ---------------------------------------------------------------------------------
    alertmanager.post_alerts(posted)
    in_am = alertmanager.alerts(alertname=ALERTNAME)
    assert len(in_am) == 2, in_am
    fingerprints = {a["fingerprint"] for a in in_am}
    by_fp = {a["fingerprint"]: a for a in in_am}
    expected_keys = fingerprints | {pd_dedup_key}

    opened = wait_until(
        lambda: (found := incidents()) and {i.dedup_key for i in found} == expected_keys and found,
        timeout=TIMEOUT, what=f"incidents for fingerprints {sorted(fingerprints)} (webhook) and "
                              f"group key hash {pd_dedup_key} (PagerDuty)", describe=describe)
    assert len(opened) == 3, describe()
    for incident in opened:
        assert incident.status == "triggered"
        assert incident.severity_class == 1, (incident.dedup_key, incident.classification_rule)
        assert incident.origin == "alert"
        assert incident.source_severity == "critical"
        assert incident.resolved_at is None
    by_key = {i.dedup_key: i for i in opened}
    for fp in fingerprints:
        assert by_key[fp].classification_rule == "critical from monitoring"
        assert by_key[fp].category == "outage"
    assert by_key[pd_dedup_key].title == f"[FIRING:2] {ALERTNAME} {service} (prod critical)"

    # The alerts table keeps what Alertmanager actually sent.
    received = wait_until(lambda: len(rows := alerts_received()) >= 3 and rows, timeout=TIMEOUT,
                          what="three alert rows", describe=lambda: repr(alerts_received()))
    webhook_rows = [a for a, kind in received if kind == "alertmanager"]
    pd_rows = [a for a, kind in received if kind == "pagerduty"]
    # One row per alert per notification; Alertmanager may notify more than once, never less.
    assert {a.dedup_key for a in webhook_rows} == fingerprints
    for row in webhook_rows:
        assert row.action == "trigger"
        assert row.incident_id == by_key[row.dedup_key].id
        assert row.raw["status"] == "firing"
        assert row.raw["fingerprint"] == row.dedup_key
        assert row.raw["labels"] == by_fp[row.dedup_key]["labels"]
        assert row.raw["endsAt"] == ENDS_AT_ZERO
        # the webhook carries nanoseconds, Alertmanager's API milliseconds
        assert abs(datetime.fromisoformat(row.raw["startsAt"])
                   - datetime.fromisoformat(by_fp[row.dedup_key]["startsAt"])) < timedelta(milliseconds=1)
        assert row.details["groupKey"] == group_key(WEBHOOK_ROUTE_KEY, group_labels)
        assert row.details["receiver"] == "incident-webhook"
    assert len(pd_rows) >= 1
    for row in pd_rows:  # one per group and notification
        assert row.action == "trigger"
        assert row.dedup_key == pd_dedup_key
        assert row.incident_id == by_key[pd_dedup_key].id
        assert row.raw["event_action"] == "trigger"
        assert row.raw["dedup_key"] == pd_dedup_key
        assert row.raw["client"] == "Alertmanager"
        assert row.raw["payload"]["severity"] == "critical"
        assert row.raw["payload"]["custom_details"]["num_firing"] == "2"

    # -- resolved -------------------------------------------------------------------------------
    alertmanager.post_alerts(alert_bodies(service, ends_at=datetime.now(timezone.utc)
                                          - timedelta(milliseconds=100)))
    resolved = wait_until(
        lambda: (found := incidents()) and all(i.status == "resolved" for i in found) and found,
        timeout=TIMEOUT, what="every incident resolved", describe=describe)
    assert {i.id for i in resolved} == {i.id for i in opened}  # resolved, not new ones
    for incident in resolved:
        assert incident.resolved_at is not None
        integration = "pagerduty" if incident.dedup_key == pd_dedup_key else "alertmanager"
        assert incident.resolved_by == f"integration {service}/{integration}"

    received = alerts_received()
    resolves = [(a, kind) for a, kind in received if a.action == "resolve"]
    assert {a.dedup_key for a, kind in resolves if kind == "alertmanager"} == fingerprints
    assert all(a.raw["status"] == "resolved" and a.raw["endsAt"] != ENDS_AT_ZERO
               for a, kind in resolves if kind == "alertmanager")
    pd_resolves = [a for a, kind in resolves if kind == "pagerduty"]
    assert pd_resolves and all(a.raw["event_action"] == "resolve" and a.dedup_key == pd_dedup_key
                               for a in pd_resolves)

    # -- and the JSON API of the running server agrees --------------------------------------------
    with http() as s:
        r = s.get(f"{live_vigil}/api/v1/incidents", params={"service": service}, timeout=5,
                  headers={"Authorization": f"Bearer {vigil_service.read_api_key}"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert {i["dedup_key"] for i in items} == expected_keys
    assert all(i["status"] == "resolved" and i["severity_class"] == 1 for i in items), items
