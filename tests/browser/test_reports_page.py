"""A customer's monthly SLA report in a real browser: a tailored policy (class 1 within 60 minutes,
uptime target 99.98 %), last month's incidents, which met their deadlines and which did not, the
uptime against the target, charts drawn under the page's CSP, and the PDF link giving a real PDF.

The month is written with known times (as tests/report_world does), since the report is about the
past: the frozen `clock` stands on 23 November 2026, so "last month" is October.
"""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pypdf
from playwright.sync_api import expect

from incidents.domain.enums import Role
from incidents.models import SlaPause
from tests.browser.steps import csp_violations, sign_in, watch_console
from tests.report_world import add

M = timedelta(minutes=1)


def october(day: int, hour: int) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=timezone.utc)


def northwind_october(make, session) -> dict[str, int]:
    """Northwind: class 1 within 60 minutes, uptime 99.98 %. A 30-minute payments outage answered
    in 20 minutes (met); a class 1 defect answered after 95 minutes (breached, 35 minutes over);
    two class 3 questions answered within minutes (met), one after a 15-minute pause."""
    northwind = make.customer("northwind", sla_minutes={"1": 60})
    northwind.name, northwind.uptime_target = "Northwind Traders", 99.98
    payments = make.service("payments", customer=northwind, types=()).service
    make.service("web", customer=northwind, types=())
    ids = {
        "outage": add(session, payments, opened=october(5, 10), severity_class=1, due=60 * M, ack=20 * M,
                      resolved=30 * M, category="outage", title="Card payments failing"),
        "breach": add(session, payments, opened=october(12, 9), severity_class=1, due=60 * M, ack=95 * M,
                      resolved=180 * M, title="Refunds stuck in pending"),
        "question": add(session, payments, opened=october(20, 14), severity_class=3, due=48 * 60 * M,
                        ack=12 * M, resolved=60 * M, title="Invoice totals off by a cent"),
        "paused": add(session, payments, opened=october(22, 8), severity_class=3, due=48 * 60 * M,
                      ack=40 * M, resolved=90 * M, title="Export misses the VAT column"),
    }
    session.add(SlaPause(incident_id=ids["paused"], started_at=october(22, 8) + 5 * M,
                         ended_at=october(22, 8) + 20 * M, reason="waiting on the customer", actor="ana@ops.example"))
    session.commit()
    return ids


def test_customer_report_shows_deadlines_uptime_charts_and_a_real_pdf(page, make, session, clock):
    ids = northwind_october(make, session)
    messages = watch_console(page)
    sign_in(page, make.console_user("vera@ops.example", Role.VIEWER), path="/reports")

    page.get_by_role("combobox", name="Customer").select_option(label="Northwind Traders")
    expect(page.get_by_label("Month")).to_have_value("2026-10")  # last month by default
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    report = page.locator("section.report").filter(has_text="Northwind Traders")
    expect(report.get_by_role("heading", name="Incidents and their deadlines")).to_be_visible()

    rows = report.locator("table.report-incidents tbody tr")
    expect(rows).to_have_count(4)
    for name in ("outage", "question", "paused"):
        expect(rows.filter(has_text=f"#{ids[name]}")).to_have_class(re.compile("outcome-met"))
        expect(rows.filter(has_text=f"#{ids[name]}").locator("td[data-label=Outcome]")).to_have_text("met")
    late = rows.filter(has_text=f"#{ids['breach']}")
    expect(late.locator("td[data-label=Outcome]")).to_have_text("breached")
    expect(rows.filter(has_text=f"#{ids['paused']}").locator("td[data-label=Paused]")).to_have_text("15m 0s")

    breaches = report.locator("h3:has-text('Breaches') + table tbody tr")
    expect(breaches).to_have_count(1)
    expect(breaches.locator("td[data-label=Incident]")).to_contain_text(f"#{ids['breach']} Refunds stuck in pending")
    expect(breaches.locator("td[data-label=Overrun]")).to_have_text("35m 0s")
    expect(report.locator("tr:has-text('Class 1') td[data-label='Share met']").first).to_have_text("50 %")

    # 30 minutes down in a 31-day month: 99.9328 %, under the 99.98 % the customer bought
    expect(report.get_by_role("heading", name=re.compile(r"Uptime per service"))).to_contain_text("target 99.98 %")
    payments = report.locator("tr:has(td[data-label=Service]:text-is('payments'))")
    expect(payments.locator("td[data-label=Uptime]")).to_have_text("99.9328 %")
    expect(payments.locator("td[data-label='Target met']")).to_have_text("no")
    web = report.locator("tr:has(td[data-label=Service]:text-is('web'))")
    expect(web.locator("td[data-label=Uptime]")).to_have_text("100.0000 %")

    charts = report.locator("svg.chart")
    expect(charts).to_have_count(2)
    for chart in charts.all():
        box = chart.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 20, box
    breached_bar = report.locator("svg.chart rect.bar-breached").first
    expect(breached_bar).to_be_visible()
    # the stylesheet (allowed by the CSP) colours the bars: not SVG's default black
    assert breached_bar.evaluate("r => getComputedStyle(r).fill") not in ("", "rgb(0, 0, 0)")
    expect(report.locator("svg.chart line.target-line")).to_have_count(1)
    assert csp_violations(messages) == []

    href = page.get_by_role("link", name="PDF").get_attribute("href")
    assert href == "/reports/sla.pdf?customer=northwind&month=2026-10"
    pdf = page.request.get(href)  # the page's own cookies: the signed-in viewer's download
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    body = pdf.body()
    assert body.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages)
    assert "Northwind Traders (northwind)" in text and "SLA report October 2026" in text
    assert f"#{ids['breach']}" in text and "35m 0s" in text and "99.9328 %" in text and "99.98 %" in text
