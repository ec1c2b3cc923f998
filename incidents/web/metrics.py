"""GET /metrics for Prometheus, and the request hooks that feed it (latency, alerts received).

Who may scrape: with METRICS_TOKEN set, whoever sends `Authorization: Bearer <METRICS_TOKEN>`;
without it, only a direct connection from this machine (loopback, and no X-Forwarded-For or Forwarded
header, so a reverse proxy on the same machine does not make every visitor look local).
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import re
import time

from apiflask import APIBlueprint
from flask import Flask, Response, current_app, g, request

from incidents import clock
from incidents.services import metrics, metrics_gauges
from incidents.services.integrations import INTAKE_PATHS
from incidents.web.errors import error_body
from incidents.web.session import EXTENSION, db_session

# The classic text format, which every Prometheus version reads (what generate_latest writes).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
bp = APIBlueprint("metrics", __name__, enable_openapi=False)
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_INTAKE_TYPES = {path: kind for kind, path in INTAKE_PATHS.items()}


def init_app(app: Flask) -> None:
    metrics.watch(app.extensions[EXTENSION].sessionmaker)
    app.register_blueprint(bp)

    @app.before_request
    def start_clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response):
        rule = route_label(request.url_rule.rule) if request.url_rule is not None else "unmatched"
        started = g.get("metrics_started")
        if started is not None:
            metrics.observe_request(rule, request.method, response.status_code, time.perf_counter() - started)
        if response.status_code == 202 and rule in _INTAKE_TYPES:
            metrics.count_alerts(_INTAKE_TYPES[rule], _alerts_in(response))
        return response


@functools.lru_cache(maxsize=1024)  # one entry per route
def route_label(rule: str) -> str:
    """A route as a label: /api/v1/incidents/<incident_id>, without converters and their bounds."""
    return _CONVERTER.sub(r"<\1>", rule)


def _alerts_in(response: Response) -> int:
    """Alerts an intake answer accepted: its `alerts` list, or one (the PagerDuty-style answer)."""
    body = response.get_json(silent=True)
    alerts = body.get("alerts") if isinstance(body, dict) else None
    return len(alerts) if isinstance(alerts, list) else 1


@bp.get("/metrics")
def scrape():
    refused = _refusal(current_app.config["VIGIL"].metrics_token)
    if refused is not None:
        return refused
    session = db_session()
    try:
        reading = metrics_gauges.read(session, now=clock.now())
    finally:
        session.rollback()  # a read: end the transaction (and SQLite's lock) at once
    body = metrics.render_counters() + metrics_gauges.render(reading, multiprocess=metrics.multiprocess())
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _refusal(token: str | None):
    if token is not None:
        given = request.headers.get("Authorization", "")
        if given[:7].lower() == "bearer " and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
            return None
        return error_body(401, "send Authorization: Bearer <METRICS_TOKEN>"), 401, {"WWW-Authenticate": "Bearer"}
    if _direct_loopback():
        return None
    return error_body(403, "/metrics answers connections from this machine only; "
                           "set METRICS_TOKEN to scrape from elsewhere"), 403


def _direct_loopback() -> bool:
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
