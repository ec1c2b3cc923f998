"""What the regulator's pages say first (page_text.lead), and that they leave out the response
deadline, which is another clock than the one they are about."""
from __future__ import annotations

from incidents.domain import page_text
from incidents.services.playbook.regulator import OVERDUE_STEP, WARNING_STEP


def test_leads_of_the_regulators_pages():
    assert page_text.lead(WARNING_STEP) == "GDPR deadline in 24 h"
    assert page_text.lead(WARNING_STEP - 1) == "GDPR deadline in 6 h"
    assert page_text.lead(OVERDUE_STEP) == "GDPR deadline PASSED"
    # The SLA's markers and escalation steps keep theirs.
    assert page_text.lead(page_text.SLA_WARNING_STEP) == "SLA warning"
    assert page_text.lead(page_text.SLA_BREACH_STEP) == "SLA BREACHED"
    assert page_text.lead(0) is None and page_text.lead(2) is None


def test_a_gdpr_page_has_no_response_deadline():
    sms = page_text.sms_page(12, 1, "Customer data exposed", "acme", "10:30 UTC", "4k",
                             lead=page_text.lead(WARNING_STEP))
    assert sms == "Vigil GDPR deadline in 24 h #12 C1 acme: Customer data exposed. Reply 4ka ack, 4kr resolve, 4ke escalate"
    text, blocks = page_text.slack_page_blocks(
        incident_id=12, number=12, severity_class=1, title="Customer data exposed", customer="acme",
        due="10:30 UTC", status="triggered", lead=page_text.lead(OVERDUE_STEP))
    assert text.startswith("Vigil GDPR deadline PASSED #12 C1 acme: Customer data exposed")
    assert "10:30" not in text and "10:30" not in str(blocks)
    # An SLA warning still says when to respond by.
    assert "Respond by 10:30 UTC" in page_text.sms_page(12, 1, "Checkout down", "acme", "10:30 UTC", "4k",
                                                        lead="SLA warning")
