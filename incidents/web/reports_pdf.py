"""The monthly SLA report as a PDF (ReportLab): per class, every breach, uptime per service."""
from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from incidents.services.reports import CustomerReport, Report

GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf2")),
                   ("FONTSIZE", (0, 0), (-1, -1), 8), ("VALIGN", (0, 0), (-1, -1), "TOP")])


def report_pdf(report: Report, *, generated_at: datetime, compress: bool = True) -> bytes:
    """`compress=False` (with invariant output) lets tests read the text in the file."""
    out = io.BytesIO()
    title = f"SLA report {report.month:%B %Y}"
    doc = SimpleDocTemplate(out, pagesize=A4, title=title, author="Vigil", invariant=not compress,
                            pageCompression=1 if compress else 0,
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm)
    styles = getSampleStyleSheet()
    story = [Paragraph(escape(title), styles["Title"]),
             Paragraph(f"Month {report.month:%Y-%m} (UTC). Generated {generated_at:%Y-%m-%d %H:%M} UTC.",
                       styles["Normal"])]
    for customer in report.customers:
        story += _customer(customer, styles)
    return _build(doc, story, out)


def _build(doc, story, out: io.BytesIO) -> bytes:
    doc.build(story)
    return out.getvalue()


def _customer(c: CustomerReport, styles) -> list:
    small = styles["BodyText"]
    parts = [Spacer(1, 6 * mm), Paragraph(escape(f"{c.name} ({c.slug})"), styles["Heading2"]),
             Paragraph("Response within the deadline, per class", styles["Heading4"])]
    rows = [["Class", "Opened", "Met", "Breached", "Pending", "Share met", "MTTA mean", "MTTA p90",
             "MTTR mean", "MTTR p90", "Paused"]]
    for f in c.classes:
        rows.append([str(f.severity_class), f.opened, f.met, f.breached, f.pending,
                     "—" if f.share_met is None else f"{f.share_met:g} %", span(f.mtta_mean),
                     span(f.mtta_p90), span(f.mttr_mean), span(f.mttr_p90),
                     f"{f.paused_incidents}: {span(f.paused_seconds)}" if f.pauses else "—"])
    parts += [Table(rows, style=GRID, repeatRows=1), Paragraph("Breaches", styles["Heading4"])]
    if c.breaches:
        rows = [["Incident", "Title", "Class", "Deadline", "Responded", "Overrun", "Paused"]]
        for b in c.breaches:
            rows.append([f"#{b.incident_id}", Paragraph(escape(b.title), small), str(b.severity_class),
                         f"{b.deadline:%Y-%m-%d %H:%M}",
                         f"{b.responded_at:%Y-%m-%d %H:%M}" if b.responded_at else "no response",
                         span(b.overrun), paused(b.pauses, b.paused_seconds)])
        parts.append(Table(rows, style=GRID, repeatRows=1, colWidths=[16 * mm, 50 * mm, 11 * mm, 28 * mm,
                                                                      28 * mm, 20 * mm, 24 * mm]))
    else:
        parts.append(Paragraph("None: every deadline was met.", small))
    parts.append(Paragraph(f"Uptime per service (target {c.uptime_target:g} %)", styles["Heading4"]))
    if c.uptime:
        rows = [["Service", "Downtime", "Uptime", "Target", "Met"]]
        rows += [[Paragraph(escape(u.service), small), span(u.downtime), f"{u.uptime:.4f} %",
                  f"{u.target:g} %", "yes" if u.met else "no"] for u in c.uptime]
        parts.append(Table(rows, style=GRID, repeatRows=1))
    else:
        parts.append(Paragraph("No services.", small))
    if c.incidents is not None:
        parts += _incidents(c, styles)
    return parts


def _incidents(c: CustomerReport, styles) -> list:
    """Every incident of the month and whether it met its deadline."""
    parts = [Paragraph("Incidents and their deadlines", styles["Heading4"])]
    if not c.incidents:
        return parts + [Paragraph("No incidents this month.", styles["BodyText"])]
    rows = [["Incident", "Title", "Class", "Deadline", "Responded", "Outcome", "Paused"]]
    for i in c.incidents:
        rows.append([f"#{i.incident_id}", Paragraph(escape(i.title), styles["BodyText"]), str(i.severity_class),
                     f"{i.deadline:%Y-%m-%d %H:%M}",
                     f"{i.responded_at:%Y-%m-%d %H:%M}" if i.responded_at else "no response",
                     i.outcome, paused(i.pauses, i.paused_seconds)])
    return parts + [Table(rows, style=GRID, repeatRows=1, colWidths=[16 * mm, 50 * mm, 11 * mm, 28 * mm,
                                                                     28 * mm, 20 * mm, 24 * mm])]


def paused(pauses: int, seconds: float) -> str:
    """'—', or how long in all and, when more than one, how many pauses."""
    if not pauses:
        return "—"
    return span(seconds) + (f" ({pauses}×)" if pauses > 1 else "")


def span(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h {minutes}m"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m {rest}s"
