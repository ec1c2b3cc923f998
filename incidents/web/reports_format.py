"""The SLA report as JSON and as CSV (one shape for the API and the console's download)."""
from __future__ import annotations

import csv
import io
from dataclasses import asdict

from incidents.services.reports import ClassFigures, IncidentOutcome, Report

CSV_COLUMNS = ("record", "customer", "severity_class", "opened", "met", "breached", "pending",
               "share_met_pct", "mtta_mean_s", "mtta_p90_s", "mttr_mean_s", "mttr_p90_s",
               "incident_id", "title", "deadline", "responded_at", "overrun_s",
               "service", "downtime_s", "uptime_pct", "uptime_target_pct", "uptime_met",
               "paused_incidents", "pauses", "paused_s", "opened_at", "outcome")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def report_json(report: Report) -> dict:
    return {
        "month": f"{report.month:%Y-%m}",
        "customers": [{
            "customer": c.slug, "name": c.name, "uptime_target": c.uptime_target,
            "classes": [asdict(f) for f in c.classes],
            "breaches": [{"incident_id": b.incident_id, "title": b.title,
                          "severity_class": b.severity_class, "deadline": b.deadline.isoformat(),
                          "responded_at": b.responded_at.isoformat() if b.responded_at else None,
                          "overrun_seconds": b.overrun, "pauses": b.pauses,
                          "paused_seconds": b.paused_seconds} for b in c.breaches],
            "uptime": [asdict(u) for u in c.uptime],
            "incidents": None if c.incidents is None else [_incident(i) for i in c.incidents],
        } for c in report.customers],
        "total": [asdict(f) for f in report.total],
    }


def _incident(i: IncidentOutcome) -> dict:
    return {"incident_id": i.incident_id, "title": i.title, "severity_class": i.severity_class,
            "opened_at": i.opened_at.isoformat(), "deadline": i.deadline.isoformat(),
            "responded_at": i.responded_at.isoformat() if i.responded_at else None,
            "outcome": i.outcome, "pauses": i.pauses, "paused_seconds": i.paused_seconds}


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for c in report.customers:
        for f in c.classes:
            writer.writerow(_class_row("class", c.slug, f))
        for b in c.breaches:
            writer.writerow({"record": "breach", "customer": c.slug, "severity_class": b.severity_class,
                             "incident_id": b.incident_id, "title": _cell(b.title),
                             "deadline": b.deadline.isoformat(),
                             "responded_at": b.responded_at.isoformat() if b.responded_at else "no response",
                             "overrun_s": b.overrun, "pauses": b.pauses, "paused_s": b.paused_seconds})
        for i in c.incidents or ():
            writer.writerow({"record": "incident", "customer": c.slug, "severity_class": i.severity_class,
                             "incident_id": i.incident_id, "title": _cell(i.title),
                             "opened_at": i.opened_at.isoformat(), "deadline": i.deadline.isoformat(),
                             "responded_at": i.responded_at.isoformat() if i.responded_at else "",
                             "outcome": i.outcome, "pauses": i.pauses, "paused_s": i.paused_seconds})
        for u in c.uptime:
            writer.writerow({"record": "uptime", "customer": c.slug, "service": _cell(u.service),
                             "downtime_s": u.downtime, "uptime_pct": u.uptime,
                             "uptime_target_pct": u.target, "uptime_met": "yes" if u.met else "no"})
    for f in report.total:
        writer.writerow(_class_row("total", "", f))
    return out.getvalue()


def _class_row(record: str, customer: str, f: ClassFigures) -> dict:
    return {"record": record, "customer": customer, "severity_class": f.severity_class,
            "opened": f.opened, "met": f.met, "breached": f.breached, "pending": f.pending,
            "share_met_pct": f.share_met, "mtta_mean_s": f.mtta_mean, "mtta_p90_s": f.mtta_p90,
            "mttr_mean_s": f.mttr_mean, "mttr_p90_s": f.mttr_p90,
            "paused_incidents": f.paused_incidents, "pauses": f.pauses, "paused_s": f.paused_seconds}


def _cell(text: str) -> str:
    """Text a spreadsheet would not run as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text
