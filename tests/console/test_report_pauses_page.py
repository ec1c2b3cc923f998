"""The console's report page and the PDF: which incidents met their deadlines, and their pauses."""
import re

from incidents.domain.enums import Role
from incidents.services.reports import sla_report
from incidents.web.reports_pdf import report_pdf
from tests.test_report_pauses import AS_OF, world  # noqa: F401 (fixture)


def test_console_page_and_pdf_show_outcomes_and_pauses(console, session, world, clock):
    clock.at = AS_OF
    html = console(Role.VIEWER).get("/reports?customer=acme&month=2026-10").text
    assert "Incidents and their deadlines" in html
    assert html.count('class="outcome-met"') == 11 and html.count('class="outcome-breached"') == 2
    assert "2 incidents, 1h 50m" in html and "1 incident, 15m 0s" in html  # class 1 and class 3
    assert "15m 0s (2×)" in html  # the first slow page's two pauses
    report = sla_report(session, customer_slug="acme", month=world.october, as_of=AS_OF)
    text = report_pdf(report, generated_at=AS_OF, compress=False).decode("latin-1")
    shown = "".join(re.findall(r"\((.*?)\) Tj", text))
    assert "Incidents and their deadlines" in shown and "1h 30m" in shown and "20m 0s" in shown
