"""The SLA report over the JSON API, as JSON or CSV."""
from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.schemas import FileSchema
from apiflask.fields import String
from apiflask.validators import Length, Regexp
from flask import Response

from incidents import clock
from incidents.services import reports
from incidents.web.auth import READERS, auth, check_customer
from incidents.web.reports_format import CSV_COLUMNS, report_csv, report_json
from incidents.web.reports_schemas import SlaReportOut
from incidents.web.session import db_session

bp = APIBlueprint("reports_api", __name__, url_prefix="/api/v1/reports", tag="Reports")
RESPONSES = {401: "missing or unknown API key",
             403: "the key's scope does not allow this, or a customer's key names another customer",
             404: "no such customer", 422: "a month that is not YYYY-MM, out of range or not begun"}


class ReportQuery(Schema):
    customer = String(validate=Length(min=1, max=64),
                      metadata={"description": "a customer's slug; omit for every customer"})
    month = String(required=True, validate=Regexp(r"^\d{4}-\d{2}$", error="expected YYYY-MM, e.g. 2026-10"),
                   metadata={"description": "YYYY-MM (UTC)"})


def _report(query: dict) -> reports.Report:
    """The report asked for; a customer's own key gets its customer's (named or not), no other."""
    now = clock.now()
    slug = check_customer(query.get("customer"))
    month = reports.parse_month(query["month"], today=now.date())
    return reports.sla_report(db_session(), customer_slug=slug, month=month, as_of=now)


@bp.get("/sla")
@bp.auth_required(auth, roles=READERS)
@bp.input(ReportQuery, location="query", arg_name="query")
@bp.output(SlaReportOut, description="the report")
@bp.doc(summary="A month's SLA and uptime report, for one customer or all", responses=RESPONSES)
def sla(query: dict):
    return report_json(_report(query))


@bp.get("/sla.csv")
@bp.auth_required(auth, roles=READERS)
@bp.input(ReportQuery, location="query", arg_name="query")
@bp.output(FileSchema(type="string", format="binary"), content_type="text/csv",
           description="a CSV attachment with a header row: " + ",".join(CSV_COLUMNS) + ". `record` says "
           "which columns a row fills: class, breach, incident (one customer's report), uptime or total")
@bp.doc(summary="The same report as CSV: class, breach, incident and uptime records", responses=RESPONSES)
def sla_csv(query: dict):
    report = _report(query)
    name = f"sla-{check_customer(query.get('customer')) or 'all'}-{report.month:%Y-%m}.csv"
    return Response(report_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
