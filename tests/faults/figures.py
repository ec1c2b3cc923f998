"""Counting what happened in each fault's window, and the table docs/reliability.md shows.

A post belongs to the fault under way when it was sent; a page to the fault under way when its row
was written (when it fell due). A page is delivered when the fake Twilio or Slack accepted it, and
doubled when a fake accepted it twice; a double is in the documented window when the page was
claimed more than once and a worker was killed within 2 s of the provider accepting it (the
provider had it, the worker died before recording it, the sweep sent it again).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import psycopg

from tests.faults.rig import Post, Receipt

WINDOW_SECONDS = 2.0


@dataclass
class Phase:
    name: str
    started: float
    cleared: float | None = None
    recovered: float | None = None  # the first page a fake accepted after the fault cleared
    kills: list[float] = field(default_factory=list)


@dataclass
class Figures:
    name: str
    posted: int = 0
    accepted: int = 0
    unavailable: int = 0  # 503 with Retry-After
    other: list[str] = field(default_factory=list)  # any other answer: a bug
    recorded: int = 0  # accepted alerts found in the alerts table
    due: int = 0
    delivered: int = 0
    doubled: int = 0
    doubled_outside: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    recovery: float | None = None
    drained: float | None = None

    def row(self) -> str:
        def seconds(value):
            return "–" if value is None else f"{value:.1f}"
        return (f"| {self.name} | {self.posted} | {self.accepted} | {self.unavailable} | {len(self.other)} | "
                f"{self.recorded} | {self.due} | {self.delivered} | {self.doubled} | {len(self.lost)} | "
                f"{seconds(self.recovery)} | {seconds(self.drained)} |")


HEADER = ("| fault | alerts posted | accepted (202) | 503 + Retry-After | other answers | accepted and recorded "
          "| pages due | delivered | doubled | lost | recovery s (next page) | backlog drained s |\n"
          "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |")


def _address(channel: str, raw: str) -> str:
    return "D" + raw[1:] if channel == "slack" and raw.startswith("U") else raw


def count(phases: list[Phase], posts: list[Post], receipts: list[Receipt], dsn: str, end: float) -> list[Figures]:
    with psycopg.connect(dsn) as conn:
        recorded = {k for (k,) in conn.execute("SELECT DISTINCT dedup_key FROM alerts")}
        rows = conn.execute("SELECT id, incident_id, channel, address, status, attempts, "
                            "extract(epoch FROM created_at), extract(epoch FROM sent_at) FROM pages").fetchall()
    got = defaultdict(list)
    for r in receipts:
        got[(r.incident, r.channel, r.address)].append(r.at)
    kills = sorted(t for p in phases for t in p.kills)
    bounds = [p.started for p in phases[1:]] + [end + 3600]
    result = []
    for phase, until in zip(phases, bounds):
        f = Figures(phase.name)
        mine = [p for p in posts if phase.started <= p.at < until]
        f.posted, f.accepted = len(mine), sum(p.status == 202 for p in mine)
        f.unavailable = sum(p.status == 503 and p.retry_after is not None for p in mine)
        f.other = [f"{p.dedup_key}: {p.status} {p.detail}" for p in mine
                   if p.status != 202 and not (p.status == 503 and p.retry_after is not None)]
        f.recorded = sum(p.status == 202 and p.dedup_key in recorded for p in mine)
        for (pid, incident, channel, address, status, attempts, created, sent) in rows:
            if not phase.started <= float(created) < until or status == "cancelled":
                continue
            times = got.get((incident, channel, _address(channel, address)), [])
            f.due += 1
            f.delivered += bool(times)
            if not times:
                f.lost.append(f"page {pid} (incident {incident}, {channel}) {status} after {attempts} attempts")
            if len(times) > 1:
                f.doubled += 1
                if not (attempts >= 2 and any(0 <= k - times[0] < WINDOW_SECONDS for k in kills)):
                    f.doubled_outside.append(f"page {pid} (incident {incident}, {channel}): {len(times)}x, "
                                             f"claimed {attempts}x")
        if phase.cleared is not None:
            f.recovery = None if phase.recovered is None else phase.recovered - phase.cleared
            waiting = [float(sent) for (_, _, _, _, _, _, created, sent) in rows
                       if sent is not None and float(created) < phase.cleared < float(sent)]
            f.drained = max(waiting) - phase.cleared if waiting else 0.0
        result.append(f)
    return result


def table(figures: list[Figures]) -> str:
    return "\n".join([HEADER, *(f.row() for f in figures)])
