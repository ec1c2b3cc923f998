"""Gauges read from the database at each scrape: escalation lag and outbox depth.

They describe the database, not a process, so any process can read them and none has to keep them
up to date. Both queries use an index that holds only the work still to do, so a scrape costs the
same on a database with a million incidents as on an empty one:
- escalation lag: MIN(next_at) over ix_escalations_due (partial: next_at IS NOT NULL), the first row
  in index order; stopped and exhausted escalations have no next_at.
- outbox depth: the pages waiting or in flight, counted on ix_pages_due (status, next_attempt_at),
  which reads only rows of those statuses; sent and failed pages are never touched.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.models import Escalation, Page

ACTIVE = ("active", "deferred")  # as incidents.services.engine.escalations.ACTIVE
OUTBOX = ("pending", "sending", "held")


@dataclass(frozen=True)
class Reading:
    escalation_lag_seconds: float
    outbox: dict[str, int]


def read(session: Session, *, now: datetime) -> Reading:
    oldest = session.scalar(select(func.min(Escalation.next_at))
                            .where(Escalation.next_at.is_not(None), Escalation.state.in_(ACTIVE)))
    depth = dict(session.execute(select(Page.status, func.count()).where(Page.status.in_(OUTBOX))
                                 .group_by(Page.status)).all())
    return Reading(escalation_lag_seconds=lag_seconds(oldest, now),
                   outbox={status: depth.get(status, 0) for status in OUTBOX})


def lag_seconds(oldest_due: datetime | None, now: datetime) -> float:
    """How long the oldest due escalation has waited past its time; 0 when none is overdue (pure)."""
    if oldest_due is None:
        return 0.0
    return max(0.0, (now - oldest_due).total_seconds())


def render(reading: Reading, *, multiprocess: bool) -> bytes:
    registry = CollectorRegistry()
    registry.register(_Collector(reading, multiprocess))
    return generate_latest(registry)


class _Collector:
    def __init__(self, reading: Reading, multiprocess: bool):
        self.reading, self.multiprocess = reading, multiprocess

    def collect(self):
        lag = GaugeMetricFamily("vigil_escalation_lag_seconds",
                                "Seconds the oldest due escalation is past its time (0: the engine is on time)")
        lag.add_metric([], self.reading.escalation_lag_seconds)
        depth = GaugeMetricFamily("vigil_outbox_depth", "Pages not delivered yet, per status", labels=["status"])
        for status, count in self.reading.outbox.items():
            depth.add_metric([status], count)
        mode = GaugeMetricFamily("vigil_metrics_multiprocess",
                                 "1: counters add up over every process (PROMETHEUS_MULTIPROC_DIR); "
                                 "0: this process's counts only")
        mode.add_metric([], 1 if self.multiprocess else 0)
        return [lag, depth, mode]
