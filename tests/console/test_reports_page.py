"""The console's SLA report: tables, charts, breaches, uptime; CSV and PDF downloads; bad input."""
import re

import pytest

from incidents.domain.permissions import Role
from incidents.services.reports import sla_report
from incidents.web.reports_pdf import report_pdf
from tests.report_world import build

OCTOBER = "month=2026-10"


@pytest.fixture
def world(console, make):
    return build(make, acme_name="<script>alert(1)</script> Acme")


def test_a_viewer_sees_the_month_with_charts_breaches_and_uptime(console, world):
    c = console(Role.VIEWER)
    page = c.get(f"/reports?customer=acme&{OCTOBER}")
    assert page.status_code == 200
    html = page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Acme" in html and "<script>alert" not in html
    assert f"#{world.late_id}" in html and f"#{world.silent_id}" in html and "no response" in html
    assert "33.33 %" in html  # class 1: one of three met
    assert "99.4624 %" in html and "99.7312 %" in html and "target 99.9 %" in html
    assert html.count("<svg") == 2 and 'class="bar-breached"' in html and 'class="target-line"' in html
    assert " style=" not in html  # the CSP allows no inline styles
    assert 'href="/reports/sla.pdf?customer=acme&amp;month=2026-10"' in html
    assert 'href="/reports/sla.csv?customer=acme&amp;month=2026-10"' in html
    assert "Reports" in re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)[1]


def test_all_customers_with_their_total(console, world):
    html = console(Role.VIEWER).get(f"/reports?{OCTOBER}").text
    assert "All customers" in html and "Globex" in html and html.count("<svg") == 5


def test_the_default_is_last_month(console, world):
    html = console(Role.VIEWER).get("/reports").text  # the clock says November 2026
    assert 'value="2026-10"' in html and "October 2026" in html


@pytest.mark.parametrize("query, status, message", [
    ("month=2026-13", 422, "13 is not a month"),
    ("month=0000-01", 422, "years before"),
    ("month=2027-01", 422, "has not begun"),
    ("month=oct", 422, "YYYY-MM"),
    ("customer=nobody&month=2026-10", 404, "nobody"),
    ("customer=" + "x" * 65 + "&month=2026-10", 422, "at most 64"),
])
def test_bad_input_is_a_clear_page(console, world, query, status, message):
    c = console(Role.VIEWER)
    for path in ("/reports", "/reports/sla.csv", "/reports/sla.pdf"):
        page = c.get(f"{path}?{query}")
        assert page.status_code == status, (path, page.status_code)
        assert message in page.text


def test_csv_download(console, world):
    sheet = console(Role.VIEWER).get(f"/reports/sla.csv?customer=acme&{OCTOBER}")
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    assert "sla-acme-2026-10.csv" in sheet.headers["Content-Disposition"]
    assert f"breach,acme,1,,,,,,,,,,{world.late_id},Checkout down again," in sheet.text


def test_pdf_download_is_a_pdf(console, world):
    pdf = console(Role.VIEWER).get(f"/reports/sla.pdf?customer=acme&{OCTOBER}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-") and pdf.data.rstrip().endswith(b"%%EOF")


def test_pdf_holds_the_customer_breaches_and_uptime_as_plain_text(session, world, clock):
    report = sla_report(session, customer_slug="acme", month=world.october)
    text = report_pdf(report, generated_at=clock(), compress=False).decode("latin-1")
    shown = "".join(re.findall(r"\((.*?)\) Tj", text))  # the strings the pages draw
    assert "<script>alert\\(1\\)</script> Acme" in shown  # plain text, as written
    assert f"#{world.late_id}" in shown and f"#{world.silent_id}" in shown and "no response" in shown
    assert "99.4624 %" in shown and "SLA report October 2026" in shown and "Generated 2026-11-23 08:30 UTC" in shown


def test_signed_out_people_are_sent_to_sign_in(client, world):
    assert client.get(f"/reports?{OCTOBER}").status_code in (302, 303)
    assert client.get(f"/reports/sla.pdf?{OCTOBER}").status_code in (302, 303)
