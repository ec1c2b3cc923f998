"""Pausing and resuming an incident's SLA clock in a real browser: the reason asked for, the state
shown, the timeline, and the deadline moved by the paused time."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from incidents.domain.enums import Role
from incidents.models import Incident
from tests.browser.steps import csp_violations, post_alert, sign_in, watch_console


def test_ops_engineer_pauses_waiting_on_the_customer_then_resumes(page, make, live_server, session, clock):
    make.rules()
    checkout = make.service("checkout", customer=make.customer("acme"))
    incident_id = post_alert(live_server, checkout.keys["generic"], "Checkout is down", severity="critical")
    due = session.get(Incident, incident_id).response_due_at
    messages = watch_console(page)
    sign_in(page, make.console_user("ana@ops.example", Role.OPS_ENGINEER), path=f"/incidents/{incident_id}")
    state = page.locator("#sla-clock")
    expect(state).to_contain_text("running")

    page.get_by_role("button", name="Pause SLA clock").click()  # no reason yet: the server says why not
    expect(page.locator(".flash.error")).to_contain_text("Say why the SLA clock stops")
    page.get_by_label("Why pause the SLA clock").fill("Waiting on the customer's VPN logs")
    page.get_by_role("button", name="Pause SLA clock").click()
    expect(page.locator(".flash.success")).to_contain_text(f"SLA clock of #{incident_id} paused")
    expect(state).to_contain_text("paused")
    expect(state).to_contain_text("Waiting on the customer's VPN logs")
    expect(page.locator("ol.timeline")).to_contain_text("SLA clock paused: Waiting on the customer's VPN logs")

    clock.advance(minutes=25)
    page.get_by_role("button", name="Resume SLA clock").click()
    expect(page.locator(".flash.success")).to_contain_text("resumed")
    expect(state).to_contain_text("running")
    expect(page.locator("ol.timeline")).to_contain_text("SLA clock resumed after 25m")
    session.expire_all()
    assert session.get(Incident, incident_id).response_due_at == due + timedelta(minutes=25)
    assert csp_violations(messages) == []
