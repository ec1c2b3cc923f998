"""The audit trail: who changed what, newest first, filtered and paged; a CSV export; and whether
the hash chain still verifies (an edited or removed row breaks it)."""
from __future__ import annotations

import csv
import io
import json
from typing import Iterator

from flask import Response, render_template, request, stream_with_context
from sqlalchemy import func, select

from incidents import clock
from incidents.domain.permissions import Permission
from incidents.models import AuditEvent
from incidents.services import audit
from incidents.web.console import bp
from incidents.web.console.guard import requires
from incidents.web.console.pages.audit_forms import AuditFilter
from incidents.web.console.templating import render_error
from incidents.web.session import db_session

PAGE = 50
CSV_HEADER = ("id", "time_utc", "actor", "door", "ip", "action", "target", "details")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula


@bp.get("/audit", endpoint="audit")
@requires(Permission.ADMIN)
def audit_page():
    form = AuditFilter(request.args)
    if not form.validate():
        return _bad_filter(form)
    s = db_session()
    rows = s.scalars(_query(form).limit(PAGE + 1)).all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    chain = None if form.before.data else _chain()  # checked on the first page, not on every page
    actions = s.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return render_template("console/audit.html", form=form, rows=rows, args=args, chain=chain, actions=actions,
                           next_before=rows[-1].id if more else None, paged=bool(form.before.data))


@bp.get("/audit.csv", endpoint="audit_csv")
@requires(Permission.ADMIN)
def audit_csv():
    form = AuditFilter(request.args)
    if not form.validate():
        return _bad_filter(form)
    query = _query(form).execution_options(yield_per=500)
    name = f"vigil-audit-{clock.now():%Y%m%d-%H%M}.csv"
    return Response(stream_with_context(_csv_lines(query)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _csv_lines(query) -> Iterator[str]:
    """The header, then one line per row, streamed (the trail can be long)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(c) for c in cells])
        return buffer.getvalue()

    yield line(CSV_HEADER)
    for row in db_session().scalars(query):
        yield line((row.id, row.at.isoformat(), row.actor, row.door, row.ip or "", row.action, row.target,
                    json.dumps(row.details, sort_keys=True, default=str) if row.details else ""))


def safe_cell(value) -> str:
    """Text a spreadsheet shows as text: a cell that would start a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _query(form: AuditFilter):
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if form.actor.data and form.actor.data.strip():
        query = query.where(_contains(AuditEvent.actor, form.actor.data.strip()))
    if form.action.data and form.action.data.strip():
        query = query.where(AuditEvent.action.like(_escape(form.action.data.strip().lower()) + "%", escape="\\"))
    if form.target.data and form.target.data.strip():
        query = query.where(_contains(AuditEvent.target, form.target.data.strip()))
    if form.before.data:
        query = query.where(AuditEvent.id < form.before.data)
    return query


def _contains(column, text: str):
    """Case-insensitive substring, the text taken literally (% and _ are not wildcards)."""
    return func.lower(column).like(f"%{_escape(text.lower())}%", escape="\\")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _chain() -> dict:
    s = db_session()
    problems = audit.verify(s)
    return {"rows": s.scalar(select(func.count()).select_from(AuditEvent)) or 0, "problems": problems}


def _bad_filter(form: AuditFilter):
    field, messages = next(iter(form.errors.items()))
    return render_error(400, f"{getattr(form, field).label.text}: {messages[0]}")
