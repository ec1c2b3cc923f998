"""Monthly SLA and uptime reports: per class, breaches, response and resolve times, uptime per
service against the target, with charts; CSV and PDF downloads of the same figures."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Response, render_template, request
from sqlalchemy import select

from incidents import clock
from incidents.domain.permissions import Permission
from incidents.models import Customer
from incidents.services import reports
from incidents.services.errors import Invalid
from incidents.web.console import bp
from incidents.web.console.guard import requires
from incidents.web.reports_charts import class_chart, uptime_chart
from incidents.web.reports_format import report_csv
from incidents.web.reports_pdf import paused, report_pdf, span
from incidents.web.session import db_session

MAX_SLUG = 64


@bp.get("/reports", endpoint="reports")
@requires(Permission.VIEW)
def reports_page():
    session = db_session()
    now = clock.now()
    slug, month_text = _choice(now.date())
    choices = session.execute(select(Customer.slug, Customer.name).order_by(Customer.name)).all()
    try:
        month = reports.parse_month(month_text, today=now.date())
        if len(slug or "") > MAX_SLUG:
            raise Invalid(f"customer: at most {MAX_SLUG} characters")
    except Invalid as error:
        return render_template("console/reports.html", report=None, error=error.message, choices=choices,
                               slug=slug, month_text=month_text[:7]), 422
    report = reports.sla_report(session, customer_slug=slug, month=month, as_of=now)
    charts = {c.slug: (class_chart(c.classes), uptime_chart(c.uptime, c.uptime_target) if c.uptime else None)
              for c in report.customers}
    return render_template("console/reports.html", report=report, charts=charts, span_=span, paused_=paused, choices=choices,
                           slug=slug, month_text=month_text, error=None, generated_at=now,
                           total_chart=class_chart(report.total))


@bp.get("/reports/sla.csv", endpoint="reports_csv")
@requires(Permission.VIEW)
def reports_csv():
    report, name = _download("csv")
    return Response(report_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/reports/sla.pdf", endpoint="reports_pdf")
@requires(Permission.VIEW)
def reports_pdf():
    report, name = _download("pdf")
    return Response(report_pdf(report, generated_at=clock.now()), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


def _choice(today: date) -> tuple[str | None, str]:
    """The customer (None: all) and month asked for; last month when none is."""
    last_month = today.replace(day=1) - timedelta(days=1)
    slug = (request.args.get("customer") or "").strip() or None
    return slug, (request.args.get("month") or f"{last_month:%Y-%m}").strip()


def _download(extension: str) -> tuple[reports.Report, str]:
    """The report a download link asks for (Invalid is a 422 page, an unknown customer 404)."""
    now = clock.now()
    slug, month_text = _choice(now.date())
    if len(slug or "") > MAX_SLUG:
        raise Invalid(f"customer: at most {MAX_SLUG} characters")
    month = reports.parse_month(month_text, today=now.date())
    report = reports.sla_report(db_session(), customer_slug=slug, month=month, as_of=now)
    return report, f"sla-{slug or 'all'}-{month:%Y-%m}.{extension}"
