"""Geometry for the report's inline SVG charts (the templates draw it; no JavaScript, no styles)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from incidents.services.reports import ClassFigures, ServiceUptime

WIDTH = 300  # drawing units; the SVG scales to the page width
ROW = 28
BAR = 18
LABEL = 70  # room for the label on the left
VALUE = 80  # and for the figure on the right
BARS = WIDTH - LABEL - VALUE


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    kind: str  # met | breached | pending | up-ok | up-bad


@dataclass(frozen=True)
class Row:
    y: float
    label: str
    value: str
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    height: float
    rows: list[Row]
    target_x: float | None = None  # the uptime target line
    axis: str = ""


def class_chart(classes: list[ClassFigures]) -> Chart:
    """A bar per class, its length the incidents opened, split into met, breached and pending."""
    most = max((c.opened for c in classes), default=0) or 1
    rows = []
    for i, c in enumerate(classes):
        x, segments = float(LABEL), []
        for kind, count in (("met", c.met), ("breached", c.breached), ("pending", c.pending)):
            width = BARS * count / most
            if width > 0:
                segments.append(Segment(round(x, 2), round(width, 2), kind))
                x += width
        value = f"{c.met}/{c.met + c.breached} met" if c.met + c.breached else f"{c.opened} opened"
        rows.append(Row(i * ROW, f"Class {c.severity_class}", value, segments))
    return Chart(len(classes) * ROW, rows)


def uptime_chart(services: list[ServiceUptime], target: float) -> Chart:
    """A bar per service from a floor up to its uptime, and the target as a vertical line; the
    floor sits a little below the lowest figure so small differences near 100 % show."""
    lowest = min([u.uptime for u in services] + [target])
    floor = max(0.0, math.floor((lowest - max(0.01, (100 - lowest) * 0.25)) * 100) / 100)
    span = (100 - floor) or 1
    scale = BARS / span
    rows = []
    for i, u in enumerate(services):
        width = round((u.uptime - floor) * scale, 2)
        kind = "up-ok" if u.met else "up-bad"
        rows.append(Row(i * ROW, u.service, f"{u.uptime:.4f} %", [Segment(LABEL, max(width, 0.5), kind)]))
    return Chart(max(len(services), 1) * ROW, rows, round(LABEL + (target - floor) * scale, 2),
                 f"{floor:g} % to 100 %")
