"""Working an incident in a real browser: acknowledging and reclassifying with clicks and keys, what
a viewer may not do, the phone layout, and reading with JavaScript switched off.

Incidents come from alerts posted to the intake over HTTP, as a monitoring system sends them.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from incidents.domain.enums import Role
from incidents.models import Incident
from tests.browser import harness
from tests.browser.steps import (csp_violations, no_horizontal_scroll, post_alert, sign_in, type_password,
                                 totp, watch_console)

LATENCY = "Payment authorisation latency p99 2.4 s (threshold 1 s)"
# What monitoring sends often carries a long unbroken token: on a phone it must wrap, not scroll.
OUTAGE = ("SMS messages not sending: https://status.twilio.example/incidents/"
          "01JD3V7Q8W4ZB5K9X2M6N0R1TT?region=eu-west-1&trace=4bf92f3577b34da6a3ce929d0e0e4736")


def _incident(make, live_server: str, summary: str, **body) -> int:
    make.rules()
    checkout = make.service("checkout", customer=make.customer("acme"))
    return post_alert(live_server, checkout.keys["generic"], summary, source="prometheus", **body)


def _timeline(page):
    return page.locator("ol.timeline")


def test_ops_engineer_acknowledges_and_reclassifies(page, make, live_server, session):
    incident_id = _incident(make, live_server, LATENCY, severity="warning")
    messages = watch_console(page)
    sign_in(page, make.console_user("ana@ops.example", Role.OPS_ENGINEER))

    page.get_by_role("link", name=re.compile(re.escape(LATENCY))).first.click()  # from the Now page
    expect(page).to_have_url(re.compile(rf"/incidents/{incident_id}$"))
    expect(page.locator("h1")).to_contain_text("C2")

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".flash.success")).to_have_text(f"Incident #{incident_id} acknowledged.")
    expect(page.locator(".status-line")).to_contain_text("acknowledged")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)

    page.get_by_label("Class").select_option("1")
    page.get_by_label("Reason").fill("Customers cannot pay: checkout times out")
    page.get_by_role("button", name="Reclassify").click()
    expect(page.locator(".flash.success")).to_contain_text(f"Incident #{incident_id} reclassified")
    expect(page.locator("h1")).to_contain_text("C1")

    entries = _timeline(page)
    expect(entries.locator("li.kind-acknowledged")).to_contain_text("Acknowledged by ana@ops.example")
    expect(entries.locator("li.kind-acknowledged")).to_contain_text("via console")
    expect(entries.locator("li.kind-reclassified")).to_contain_text(
        "Class 2 → 1 by ana@ops.example: Customers cannot pay: checkout times out")
    incident = session.get(Incident, incident_id)
    assert (incident.status, incident.severity_class) == ("acknowledged", 1)
    assert csp_violations(messages) == []


def test_keyboard_a_acknowledges_but_not_while_typing(page, make, live_server, session):
    incident_id = _incident(make, live_server, LATENCY, severity="warning")
    sign_in(page, make.console_user("rui@ops.example", Role.RESPONDER), path=f"/incidents/{incident_id}")

    page.get_by_label("Comment").press("a")  # typing a comment is not a shortcut
    expect(page.get_by_label("Comment")).to_have_value("a")
    page.keyboard.press("?")  # (in the text box: a question mark, not the help)
    page.get_by_label("Comment").fill("")
    page.locator("h1").click()  # leave the text box

    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_have_attribute("open", "")
    with page.expect_navigation():
        page.keyboard.press("a")

    expect(page.locator(".flash.success")).to_have_text(f"Incident #{incident_id} acknowledged.")
    expect(_timeline(page).locator("li.kind-acknowledged")).to_contain_text("Acknowledged by rui@ops.example")
    session.expire_all()
    assert session.get(Incident, incident_id).status == "acknowledged"


def test_viewer_has_no_actions_and_a_forged_post_is_refused(page, make, live_server, session):
    incident_id = _incident(make, live_server, LATENCY, severity="warning")
    sign_in(page, make.console_user("viv@ops.example", Role.VIEWER), path=f"/incidents/{incident_id}")

    expect(page.locator("h1")).to_contain_text(LATENCY)
    assert page.locator("main form").count() == 0  # no buttons, no comment box, no assign
    assert page.get_by_role("button", name=re.compile("Acknowledge|Resolve|Escalate|Reclassify")).count() == 0

    token = page.locator("body").get_attribute("data-csrf")
    forged = page.request.post(f"/incidents/{incident_id}/acknowledge", form={"csrf_token": token},
                               max_redirects=0)
    assert forged.status == 403
    commented = page.request.post(f"/incidents/{incident_id}/comment", form={"csrf_token": token, "text": "hi"},
                                  max_redirects=0)
    assert commented.status == 403

    page.reload()
    expect(page.locator(".status-line")).to_contain_text("triggered")
    expect(_timeline(page).locator("li.kind-acknowledged, li.kind-comment")).to_have_count(0)
    incident = session.get(Incident, incident_id)
    assert (incident.status, incident.acknowledged_at) == ("triggered", None)


def test_phone_pages_fit_the_screen_and_acknowledge_is_at_hand(phone_page, make, live_server):
    incident_id = _incident(make, live_server, OUTAGE, severity="critical")
    post_alert(live_server, make.service("messaging", customer=make.customer("globex")).keys["generic"],
               LATENCY, severity="warning")
    sign_in(phone_page, make.console_user("ana@ops.example", Role.OPS_ENGINEER))

    expect(phone_page.get_by_text("SMS messages not sending").first).to_be_visible()
    assert no_horizontal_scroll(phone_page), phone_page.evaluate("document.documentElement.scrollWidth")

    phone_page.goto(f"/incidents/{incident_id}")
    acknowledge = phone_page.get_by_role("button", name="Acknowledge")
    expect(acknowledge).to_be_in_viewport()  # on the first screen, no scrolling to find it
    assert no_horizontal_scroll(phone_page), phone_page.evaluate("document.documentElement.scrollWidth")
    acknowledge.tap()
    expect(phone_page.locator(".status-line")).to_contain_text("acknowledged")


def test_reading_works_without_javascript(browser, live_server, make):
    incident_id = _incident(make, live_server, LATENCY, severity="warning")
    user = make.console_user("ana@ops.example", Role.OPS_ENGINEER)
    context = browser.new_context(base_url=live_server, java_script_enabled=False, **harness.DESKTOP)
    context.set_default_timeout(harness.TIMEOUT_MS)
    try:
        page = context.new_page()
        type_password(page, user.email)  # plain HTML forms all the way
        page.get_by_label("Code").fill(totp(user.totp_secret))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Now", exact=True)).to_be_visible()

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
        row = page.get_by_role("link", name=re.compile(re.escape(LATENCY)))
        expect(row).to_be_visible()
        row.click()

        expect(page.locator("h1")).to_contain_text(LATENCY)
        expect(_timeline(page)).to_contain_text("Opened from an alert on checkout")
        page.get_by_role("button", name="Acknowledge").click()  # a plain form too
        expect(page.locator(".status-line")).to_contain_text("acknowledged")
    finally:
        context.close()
