"""Vigil's counters for Prometheus: alerts received, incidents opened, pages sent and failed, request
latency. The gauges read from the database at scrape time are in metrics_gauges.py.

Why prometheus_client's multiprocess mode, not counts from the database: the web runs as several
gunicorn workers and the pages go out from a separate Celery worker, so a counter must add up over
processes. Counting rows at scrape time is too slow on a big database (COUNT(*) over a million alerts
takes seconds, and MAX(id) is not a count), and a counter row updated in each intake transaction
would make every alert of every integration queue on one row lock. Request latency cannot come from
the database at all. So each process writes its counts to a memory-mapped file in
PROMETHEUS_MULTIPROC_DIR (a few microseconds, no lock shared with the database) and a scrape adds
the files up: cost independent of the database's size. `vigil up` makes that folder afresh at each
start; a deployment sets it for the web and the worker alike (README, "Watching Vigil"). Counters
start from zero when it is emptied, which Prometheus's rate() and increase() expect.

Without PROMETHEUS_MULTIPROC_DIR each process counts for itself: right for one process (tests, the
development server), and `vigil_metrics_multiprocess 0` on /metrics says so.

Incidents and pages are counted from the timeline events their transactions add (`opened`,
`page_sent`, `page_failed`, `page_unknown`), once the transaction commits: every way an incident
opens (alert, report, heartbeat, console) and every page outcome (web or worker) goes through the
timeline, and a rolled-back transaction counts nothing.
"""
from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event

from incidents.domain.enums import IntegrationType

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PENDING = "vigil.metrics"  # session.info key: what the open transaction will count if it commits
PAGE_OUTCOMES = {"page_sent": "sent", "page_failed": "failed", "page_unknown": "unknown"}
CHANNELS = ("sms", "slack")  # as incidents.services.engine.outbox.CHANNEL_NAMES
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

if os.environ.get(MULTIPROC_ENV):  # a missing folder would fail every count: make it
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

disable_created_metrics()  # no *_created series: noise on every counter, and absent in multiprocess mode
REGISTRY = CollectorRegistry(auto_describe=True)
ALERTS = Counter("vigil_alerts_received", "Alerts accepted by the intake (answered 202), per integration type",
                 ["integration_type"], registry=REGISTRY)
INCIDENTS = Counter("vigil_incidents_opened", "Incidents opened, per severity class",
                    ["severity_class"], registry=REGISTRY)
PAGES_SENT = Counter("vigil_pages_sent", "Pages the provider accepted, per channel", ["channel"],
                     registry=REGISTRY)
PAGES_FAILED = Counter("vigil_pages_failed", "Pages that failed for good (the next channel takes over), "
                       "per channel", ["channel"], registry=REGISTRY)
PAGES_UNKNOWN = Counter("vigil_pages_unknown", "Pages whose outcome the provider left unknown (not resent), "
                        "per channel", ["channel"], registry=REGISTRY)
LATENCY = Histogram("vigil_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["endpoint", "method", "status"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

# Series that exist from the start, at 0, so a rate over them is defined before the first event.
for _kind in IntegrationType:
    ALERTS.labels(_kind.value)
for _channel in CHANNELS:
    for _counter in (PAGES_SENT, PAGES_FAILED, PAGES_UNKNOWN):
        _counter.labels(_channel)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def fresh_multiprocess_dir(instance_path) -> dict[str, str]:
    """For `vigil up`: the counting folder its web and worker share (PROMETHEUS_MULTIPROC_DIR, else
    <instance>/metrics), emptied of the last run's files, as environment for the children."""
    folder = Path(os.environ.get(MULTIPROC_ENV) or Path(instance_path) / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)
    return {MULTIPROC_ENV: str(folder)}


def count_alerts(integration_type: str, count: int) -> None:
    if count > 0:
        ALERTS.labels(integration_type).inc(count)


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """`endpoint` is the route's rule (/api/v1/incidents/<int:incident_id>), so labels stay few."""
    LATENCY.labels(endpoint, method if method in METHODS else "other", str(status)).observe(seconds)


def render_counters() -> bytes:
    """The counters in the text format: added up over every process's files in multiprocess mode."""
    if not multiprocess():
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)


def watch(factory) -> None:
    """Count incidents opened and page outcomes from the timeline events committed through
    sessions of `factory` (the app's sessionmaker, used by web requests and tasks alike)."""
    event.listen(factory, "after_flush", _collect)
    event.listen(factory, "after_commit", _apply)
    event.listen(factory, "after_rollback", lambda session: session.info.pop(_PENDING, None))


def _collect(session, _flush_context) -> None:
    from incidents.models import IncidentEvent

    for obj in session.new:
        if isinstance(obj, IncidentEvent):
            counted = counted_event(obj.kind, obj.data or {})
            if counted is not None:
                session.info.setdefault(_PENDING, []).append(counted)


def counted_event(kind: str, data: dict) -> tuple[Counter, str] | None:
    """The counter and label a timeline event adds one to, if any (pure)."""
    if kind == "opened" and "severity_class" in data:
        return INCIDENTS, str(data["severity_class"])
    if kind in PAGE_OUTCOMES and data.get("channel"):
        counter = {"sent": PAGES_SENT, "failed": PAGES_FAILED, "unknown": PAGES_UNKNOWN}[PAGE_OUTCOMES[kind]]
        return counter, str(data["channel"])
    return None


def _apply(session) -> None:
    for counter, label in session.info.pop(_PENDING, ()):
        counter.labels(label).inc()
