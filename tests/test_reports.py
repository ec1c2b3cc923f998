"""The monthly SLA report: figures the database computes, exact on a known month, the same on
SQLite and PostgreSQL (both runs compare with the same literal figures), over the API as JSON and CSV."""
import csv
import io
from datetime import date, datetime, timezone

import pytest

from incidents.models import Incident
from incidents.services import api_keys
from incidents.services.errors import Invalid
from incidents.services.listing import Filters, list_incidents
from incidents.services.reports import month_bounds, parse_month, sla_report
from incidents.web.reports_format import report_json
from tests.helpers import bearer
from tests.report_world import build

OCTOBER = date(2026, 10, 1)
NO_PAUSES = {"paused_incidents": 0, "pauses": 0, "paused_seconds": 0.0}
EMPTY = {"opened": 0, "met": 0, "breached": 0, "pending": 0, "share_met": None, "mtta_mean": None,
         "mtta_p90": None, "mttr_mean": None, "mttr_p90": None, **NO_PAUSES}
ACME_CLASSES = [
    {"severity_class": 1, "opened": 3, "met": 1, "breached": 2, "pending": 0, "share_met": 33.33,
     "mtta_mean": 3000.0, "mtta_p90": 4920.0, "mttr_mean": 9000.0, "mttr_p90": 10440.0, **NO_PAUSES},
    {"severity_class": 2, **EMPTY},
    # acknowledged after 1..10 minutes: mean 330 s; p90 at rank 0.9 * 9 = 8.1: 540 + 0.1 * 60
    {"severity_class": 3, "opened": 10, "met": 10, "breached": 0, "pending": 0, "share_met": 100.0,
     "mtta_mean": 330.0, "mtta_p90": 546.0, "mttr_mean": 660.0, "mttr_p90": 1092.0, **NO_PAUSES},
]


@pytest.fixture
def world(make, clock):
    return build(make)


def test_one_customers_month_exactly(session, world):
    report = report_json(sla_report(session, customer_slug="acme", month=OCTOBER))
    acme, = report["customers"]
    assert report["month"] == "2026-10"
    assert acme["classes"] == ACME_CLASSES
    assert acme["breaches"] == [
        {"incident_id": world.late_id, "title": "Checkout down again", "severity_class": 1,
         "deadline": "2026-10-10T02:00:00+00:00", "responded_at": "2026-10-10T02:30:00+00:00",
         "overrun_seconds": 1800.0, "pauses": 0, "paused_seconds": 0.0},
        {"incident_id": world.silent_id, "title": "API down at month end", "severity_class": 1,
         "deadline": "2026-11-01T00:00:00+00:00", "responded_at": None, "overrun_seconds": None,
         "pauses": 0, "paused_seconds": 0.0},
    ]
    assert report["total"] == ACME_CLASSES


def test_overlapping_outages_merge_and_month_edges_clip(session, world):
    acme, = sla_report(session, customer_slug="acme", month=OCTOBER).customers
    uptime = {u.service: u for u in acme.uptime}
    # 00:00-02:00 and 01:00-04:00: four hours, not five
    assert uptime["checkout"].downtime == 4 * 3600
    assert uptime["checkout"].uptime == round(100 * (1 - 4 * 3600 / (31 * 86400)), 4) == 99.4624
    # an hour from September's outage, an hour from the one still open at the end of October
    assert uptime["api"].downtime == 2 * 3600
    assert (uptime["api"].target, uptime["api"].met) == (99.9, False)


def test_an_untouched_service_is_fully_up_against_the_default_target(session, make, clock):
    customer = make.customer("initech")
    make.service("portal", customer=customer, types=())
    only, = sla_report(session, customer_slug="initech", month=OCTOBER).customers
    assert [(u.service, u.downtime, u.uptime, u.target, u.met) for u in only.uptime] == [
        ("portal", 0.0, 100.0, 99.98, True)]
    assert [c.opened for c in only.classes] == [0, 0, 0]


def test_all_customers_and_their_total(session, world):
    report = report_json(sla_report(session, customer_slug=None, month=OCTOBER))
    assert [c["customer"] for c in report["customers"]] == ["acme", "globex"]
    globex = report["customers"][1]
    assert [c["opened"] for c in globex["classes"]] == [0, 1, 0]  # November's is not October's
    assert report["total"][1] == {"severity_class": 2, "opened": 1, "met": 1, "breached": 0, "pending": 0,
                                  "share_met": 100.0, "mtta_mean": 1800.0, "mtta_p90": 1800.0,
                                  "mttr_mean": 3600.0, "mttr_p90": 3600.0, **NO_PAUSES}
    assert report["total"][0] == ACME_CLASSES[0] and report["total"][2] == ACME_CLASSES[2]


def test_the_same_month_twice_is_the_same_report(session, world):
    first = report_json(sla_report(session, customer_slug=None, month=OCTOBER))
    assert report_json(sla_report(session, customer_slug=None, month=OCTOBER)) == first


def test_counts_agree_with_the_incident_list(session, world):
    start, end = month_bounds(OCTOBER)
    acme, = sla_report(session, customer_slug="acme", month=OCTOBER).customers
    for figures in acme.classes:
        rows, _ = list_incidents(session, Filters(customer="acme", severity_class=figures.severity_class),
                                 limit=1000)
        assert figures.opened == sum(start <= i.opened_at < end for i in rows)


def test_an_unanswered_incident_is_pending_until_its_deadline(session, make, clock):
    customer = make.customer("acme")
    service = make.service("checkout", customer=customer, types=()).service
    opened = clock()
    session.add(Incident(title="New", description="", status="triggered", severity_class=2,
                         category="defect", classification_rule="t", classification_reason="t",
                         origin="report", customer_id=customer.id, service_id=service.id,
                         opened_at=opened, response_due_at=opened.replace(hour=23), updated_at=opened))
    session.commit()
    this_month = date(opened.year, opened.month, 1)
    figures = sla_report(session, customer_slug="acme", month=this_month).customers[0].classes[1]
    assert (figures.opened, figures.met, figures.breached, figures.pending, figures.share_met) == (1, 0, 0, 1, None)


@pytest.mark.parametrize("text, message", [
    ("2026-13", "13 is not a month"), ("2026-00", "00 is not a month"), ("0000-01", "years before"),
    ("2026-1", "YYYY-MM"), ("october", "YYYY-MM"), ("", "YYYY-MM"), ("2026-12", "not begun"),
    ("2027-01", "not begun"),
])
def test_months_that_are_not_allowed(text, message):
    with pytest.raises(Invalid, match=message):
        parse_month(text, today=date(2026, 11, 23))


def test_month_bounds_are_utc_calendar_months():
    assert month_bounds(date(2026, 12, 1)) == (datetime(2026, 12, 1, tzinfo=timezone.utc),
                                               datetime(2027, 1, 1, tzinfo=timezone.utc))


def test_api_json_and_csv(client, make, world):
    key = make.api_key("read")
    answer = client.get("/api/v1/reports/sla?customer=acme&month=2026-10", headers=bearer(key))
    assert answer.status_code == 200
    assert answer.json["customers"][0]["classes"] == ACME_CLASSES
    every = client.get("/api/v1/reports/sla?month=2026-10", headers=bearer(key))
    assert [c["customer"] for c in every.json["customers"]] == ["acme", "globex"]
    sheet = client.get("/api/v1/reports/sla.csv?customer=acme&month=2026-10", headers=bearer(key))
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    breach = next(r for r in rows if r["record"] == "breach" and r["incident_id"] == str(world.silent_id))
    assert (breach["responded_at"], breach["deadline"]) == ("no response", "2026-11-01T00:00:00+00:00")
    assert {r["service"]: r["uptime_pct"] for r in rows if r["record"] == "uptime"} == {
        "api": "99.7312", "checkout": "99.4624"}


@pytest.mark.parametrize("query, status, message", [
    ("customer=acme&month=2026-13", 422, "13 is not a month"),
    ("customer=acme&month=0000-01", 422, "years before"),
    ("customer=acme&month=26-10", 422, "YYYY-MM"),
    ("customer=acme&month=2099-01", 422, "not begun"),
    ("customer=acme", 422, "month"),
    ("customer=nobody&month=2026-10", 404, "nobody"),
    ("customer=" + "x" * 65 + "&month=2026-10", 422, "customer"),
])
def test_api_bad_input_is_a_clear_4xx(client, make, world, query, status, message):
    key = make.api_key("read")
    for path in ("/api/v1/reports/sla", "/api/v1/reports/sla.csv"):
        answer = client.get(f"{path}?{query}", headers=bearer(key))
        assert answer.status_code == status, answer.json
        assert message in str(answer.json["error"])


def test_api_needs_a_key(client, world):
    assert client.get("/api/v1/reports/sla?month=2026-10").status_code == 401


def test_a_customers_key_reads_its_own_report_and_no_other(client, make, world, session):
    """A key limited to acme gets acme's report whether it names acme or no one (never everyone's); globex's is refused."""
    _, key = api_keys.create(session, name="acme dashboard", scope="read", customer="acme")
    session.commit()
    for query in ("customer=acme&month=2026-10", "month=2026-10"):
        answer = client.get(f"/api/v1/reports/sla?{query}", headers=bearer(key))
        assert answer.status_code == 200, answer.json
        assert [c["customer"] for c in answer.json["customers"]] == ["acme"]
    sheet = client.get("/api/v1/reports/sla.csv?month=2026-10", headers=bearer(key))
    assert sheet.status_code == 200 and 'filename="sla-acme-2026-10.csv"' in sheet.headers["Content-Disposition"]
    assert "globex" not in sheet.text
    for path in ("/api/v1/reports/sla", "/api/v1/reports/sla.csv"):
        refused = client.get(f"{path}?customer=globex&month=2026-10", headers=bearer(key))
        assert refused.status_code == 403 and "acme" in refused.json["error"]["message"]
