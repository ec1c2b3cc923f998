"""Intake endpoints: verify the integration key, parse with the source's parser, ingest, answer 202."""
from __future__ import annotations

from typing import Callable

from apiflask import APIBlueprint
from flask import request
from sqlalchemy.pool import PoolProxiedConnection

from alerts import services
from alerts.sources import alertmanager, generic, grafana, pagerduty
from alerts.sources.base import AlertIn, PayloadError
from incidents.domain.enums import IntegrationType
from incidents.services.errors import ServiceError
from incidents.web import limits
from incidents.web.errors import error_body
from incidents.web.session import autocommit_connection, db_session

bp = APIBlueprint("intake", __name__, tag="Alert intake")
KEY_DOC = ("The integration key as `Authorization: Bearer KEY` (Alertmanager's http_config) "
           "or `?key=KEY`. The key is checked before the body is read.")
RESPONSES = {202: "accepted", 400: "malformed payload", 401: "unknown or revoked key",
             403: "key of another integration type", 413: "body too large",
             415: "not application/json", 503: "database unavailable; retry after Retry-After"}


def _key_from_request() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.args.get("key")


def _accept(kind: IntegrationType, parse: Callable[[object], list[AlertIn]]):
    fast = autocommit_connection()  # PostgreSQL only
    integration = services.authenticate(fast or db_session(), _key_from_request(), expected=kind)
    try:
        alerts = parse(request.get_json())
    except PayloadError as exc:
        return error_body(400, str(exc)), 400
    outcomes = _ingest(fast, integration, alerts)
    return {"status": "accepted", "alerts": [
        {"dedup_key": o.dedup_key, "action": o.action, "incident_id": o.incident_id,
         "created": o.created} for o in outcomes]}, 202


def _ingest(fast: PoolProxiedConnection | None, integration: services.IntakeIntegration,
            alerts: list[AlertIn]) -> list[services.Outcome]:
    """Ingest and commit, in one transaction; but a lone duplicate, by far the commonest request,
    is counted by one atomic statement on the autocommit connection when there is one."""
    counted = False
    if fast is not None and len(alerts) == 1:
        outcome = services.count_duplicate(fast, integration=integration, alert=alerts[0])
        if outcome is not None:
            return [outcome]
        counted = True
    session = db_session()
    outcomes = services.ingest(session, integration=integration, alerts=alerts,
                               duplicates_counted=counted)
    session.commit()
    return outcomes


@bp.post("/api/v1/alerts/alertmanager")
@bp.doc(summary="Prometheus Alertmanager webhook (payload version 4)", description=KEY_DOC,
        responses=RESPONSES)
@limits.per_integration_key(_key_from_request)
def alertmanager_webhook():
    return _accept(IntegrationType.ALERTMANAGER, alertmanager.parse)


@bp.post("/api/v1/alerts/grafana")
@bp.doc(summary="Grafana alerting webhook contact point", description=KEY_DOC, responses=RESPONSES)
@limits.per_integration_key(_key_from_request)
def grafana_webhook():
    return _accept(IntegrationType.GRAFANA, grafana.parse)


@bp.post("/api/v1/alerts")
@bp.doc(summary="Generic JSON alert: summary, source, severity, dedup_key, status, details",
        description=KEY_DOC, responses=RESPONSES)
@limits.per_integration_key(_key_from_request)
def generic_alert():
    return _accept(IntegrationType.GENERIC, lambda body: [generic.parse(body)])


@bp.post("/v2/enqueue")
@bp.doc(summary="PagerDuty Events API v2 compatible",
        description="`routing_key` is the integration key. Answers as PagerDuty does.",
        responses=RESPONSES)
@limits.per_integration_key(limits.routing_key_in_body)
def enqueue():
    body = request.get_json()
    try:
        key = body.get("routing_key") if isinstance(body, dict) else None
        fast = autocommit_connection()  # PostgreSQL only
        integration = services.authenticate(fast or db_session(),
                                            key if isinstance(key, str) else None,
                                            expected=IntegrationType.PAGERDUTY)
        alert = pagerduty.parse(body)
    except PayloadError as exc:
        return _pagerduty_error(400, str(exc))
    except ServiceError as exc:
        return _pagerduty_error(exc.status, exc.message)
    _ingest(fast, integration, [alert])
    return {"status": "success", "message": "Event processed", "dedup_key": alert.dedup_key}, 202


def _pagerduty_error(status: int, message: str):
    # PagerDuty's own error shape, plus Vigil's, so both kinds of client read it.
    return {"status": "invalid event", "message": "Event object is invalid", "errors": [message],
            **error_body(status, message)}, status
