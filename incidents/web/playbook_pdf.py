"""A breach playbook run for the record: what it gathers (`run_record`) and its PDF (ReportLab).

The console's run page and the PDF read the same record. Only plain-words fields are used (titles,
states, times, summaries, errors, notice reasons): never a step's config or checkpoint, so no
secret can reach the page or the file.
"""
from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain.playbook import NoticeState, StepState
from incidents.models import Incident
from incidents.models.playbook import PlaybookNotice, PlaybookRun, PlaybookStep, RegulatorClock
from incidents.web.reports_pdf import span

GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                   ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf2")),
                   ("FONTSIZE", (0, 0), (-1, -1), 8), ("VALIGN", (0, 0), (-1, -1), "TOP")])
CUSTOMER_NOTICE = "customer_notice"


@dataclass
class RunRecord:
    run: PlaybookRun
    incident: Incident | None
    steps: list[PlaybookStep]
    notices: list[PlaybookNotice]
    regulator: RegulatorClock | None
    now: datetime
    step_counts: Counter = field(default_factory=Counter)
    notice_counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> timedelta | None:
        """The run's length so far (or in all, once it finished)."""
        return (self.run.finished_at or self.now) - self.run.started_at

    @property
    def time_to_notify(self) -> timedelta | None:
        """From the start until the last customer notice was sent, once none is waiting to go (the
        runner's report["notify_all_seconds"]); notices that failed are counted by `undelivered`."""
        notices = [n for n in self.notices if n.purpose == CUSTOMER_NOTICE]
        if any(n.state in (NoticeState.PENDING, NoticeState.SENDING) for n in notices):
            return None
        sent = [n.sent_at for n in notices if n.state == NoticeState.SENT and n.sent_at is not None]
        return max(sent) - self.run.started_at if sent else None

    @property
    def undelivered(self) -> int:
        """Customer notices that failed or may not have arrived."""
        return sum(n.purpose == CUSTOMER_NOTICE and n.state in (NoticeState.FAILED, NoticeState.UNCERTAIN)
                   for n in self.notices)

    @property
    def failures(self) -> list[str]:
        """Failed steps and notices not known to have arrived, in words."""
        titles = {s.position: s.title for s in self.steps}
        # Every failed attempt, as the runner keeps them with the run (a retry clears the step's error).
        attempts = (self.run.report or {}).get("failed") or [
            {"position": s.position, "error": s.error} for s in self.steps if s.state == StepState.FAILED]
        lines = [f"Step {a['position']} {titles.get(a['position'], '')}: {a.get('error') or 'failed'}"
                 for a in attempts]
        lines += [f"Step {s.position} {s.title} skipped: {s.skip_reason}" for s in self.steps
                  if s.state == StepState.SKIPPED and s.skip_reason]
        lines += [f"Notice to {n.recipient} by {n.channel} ({n.address}): {n.state}"
                  + (f", {n.reason}" if n.reason else "") for n in self.problem_notices]
        return lines

    @property
    def problem_notices(self) -> list[PlaybookNotice]:
        return [n for n in self.notices if n.state in (NoticeState.FAILED, NoticeState.UNCERTAIN)]

    @property
    def regulator_state(self) -> str | None:
        """met, missed (notified late), overdue (not notified, past due) or pending."""
        clock = self.regulator
        if clock is None:
            return None
        if clock.notified_at is not None:
            return "met" if clock.notified_at <= clock.due_at else "missed"
        return "overdue" if self.now > clock.due_at else "pending"


def run_record(session: Session, run: PlaybookRun, *, now: datetime) -> RunRecord:
    steps = list(session.scalars(select(PlaybookStep).where(PlaybookStep.run_id == run.id)
                                 .order_by(PlaybookStep.position)))
    notices = list(session.scalars(select(PlaybookNotice).where(PlaybookNotice.run_id == run.id)
                                   .order_by(PlaybookNotice.id)))
    incident = session.get(Incident, run.incident_id) if run.incident_id else None
    regulator = session.get(RegulatorClock, run.incident_id) if run.incident_id else None
    return RunRecord(run=run, incident=incident, steps=steps, notices=notices, regulator=regulator, now=now,
                     step_counts=Counter(s.state for s in steps), notice_counts=Counter(n.state for n in notices))


def step_duration(step: PlaybookStep, now: datetime) -> timedelta | None:
    if step.started_at is None:
        return None
    return (step.finished_at or now) - step.started_at


def run_pdf(record: RunRecord, *, generated_at: datetime, compress: bool = True) -> bytes:
    """`compress=False` (with invariant output) lets tests read the text in the file."""
    out = io.BytesIO()
    run = record.run
    title = f"Breach playbook {'drill' if run.mode == 'drill' else 'run'} #{run.id}"
    doc = SimpleDocTemplate(out, pagesize=A4, title=title, author="Vigil", invariant=not compress,
                            pageCompression=1 if compress else 0,
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm)
    styles = getSampleStyleSheet()
    story = [Paragraph(escape(title), styles["Title"]),
             Paragraph(f"Generated {generated_at:%Y-%m-%d %H:%M} UTC.", styles["Normal"]),
             _facts(record, styles), Spacer(1, 5 * mm),
             Paragraph("Steps", styles["Heading2"]), _steps(record, styles),
             Paragraph("Notices", styles["Heading2"]), *_notices(record, styles),
             Paragraph("Failures", styles["Heading2"]),
             *[Paragraph(escape(line), styles["BodyText"]) for line in record.failures or ["None."]]]
    doc.build(story)
    return out.getvalue()


def _facts(record: RunRecord, styles) -> Table:
    run, small = record.run, styles["BodyText"]
    incident = (f"#{record.incident.id} {record.incident.title}" if record.incident
                else "none (a drill without an incident)")
    rows = [["Incident", Paragraph(escape(incident), small)],
            ["Mode", "drill (drill targets and recipients only)" if run.mode == "drill" else "live"],
            ["State", run.state],
            ["Started by", Paragraph(escape(run.started_by), small)],
            ["Started", _at(run.started_at)], ["Finished", _at(run.finished_at)],
            ["Aware of the breach", _at(run.aware_at)],
            ["Regulator deadline", _regulator(record)],
            ["Total time", span(record.total.total_seconds()) if record.total is not None else "—"],
            ["Time to notify all customers", _notify_time(record)]]
    if run.error:
        rows.append(["Error", Paragraph(escape(run.error), small)])
    return Table(rows, style=TableStyle([("FONTSIZE", (0, 0), (-1, -1), 9), ("VALIGN", (0, 0), (-1, -1), "TOP")]),
                 colWidths=[50 * mm, 125 * mm], hAlign="LEFT")


def _steps(record: RunRecord, styles) -> Table:
    small = styles["BodyText"]
    rows = [["#", "Step", "State", "Started", "Finished", "Duration", "Tries", "Result"]]
    for s in record.steps:
        took = step_duration(s, record.now)
        result = s.error if s.state == StepState.FAILED else (s.summary or s.skip_reason or "")
        rows.append([str(s.position), Paragraph(escape(s.title), small), s.state, _at(s.started_at, short=True),
                     _at(s.finished_at, short=True), span(took.total_seconds()) if took is not None else "—",
                     str(s.attempts), Paragraph(escape(result or ""), small)])
    return Table(rows, style=GRID, repeatRows=1,
                 colWidths=[7 * mm, 36 * mm, 15 * mm, 22 * mm, 22 * mm, 16 * mm, 10 * mm, 52 * mm])


def _notices(record: RunRecord, styles) -> list:
    if not record.notices:
        return [Paragraph("None sent by this run.", styles["BodyText"])]
    small = styles["BodyText"]
    counts = ", ".join(f"{n} {state}" for state, n in sorted(record.notice_counts.items()))
    rows = [["Recipient", "Purpose", "Channel", "Address", "State", "Sent", "Reason"]]
    for n in record.notices:
        rows.append([Paragraph(escape(n.recipient), small), n.purpose.replace("_", " "), n.channel,
                     Paragraph(escape(n.address), small), n.state, _at(n.sent_at, short=True),
                     Paragraph(escape(n.reason or ""), small)])
    return [Paragraph(escape(counts), small),
            Table(rows, style=GRID, repeatRows=1,
                  colWidths=[30 * mm, 22 * mm, 13 * mm, 40 * mm, 17 * mm, 22 * mm, 36 * mm])]


def _regulator(record: RunRecord) -> str:
    clock, state = record.regulator, record.regulator_state
    if clock is None:
        return "none"
    text = f"{_at(clock.due_at)}: "
    if clock.notified_at is not None:
        text += f"notified {_at(clock.notified_at)}" + (f" (ref. {clock.reference})" if clock.reference else "")
        return text + (", within the deadline" if state == "met" else ", after the deadline")
    return text + ("not notified, overdue" if state == "overdue" else "not notified yet")


def _notify_time(record: RunRecord) -> str:
    took = record.time_to_notify
    missing = f" ({record.undelivered} not delivered: see failures)" if record.undelivered else ""
    if took is not None:
        return span(took.total_seconds()) + missing
    if not any(n.purpose == CUSTOMER_NOTICE for n in record.notices):
        return "—"
    return "not sent yet" if not missing else "none delivered" + missing


def _at(at: datetime | None, *, short: bool = False) -> str:
    if at is None:
        return "—"
    return f"{at:%m-%d %H:%M:%S}" if short else f"{at:%Y-%m-%d %H:%M} UTC"
