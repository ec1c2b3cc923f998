"""The README's screenshots of the console, taken from the app with a believable hour of data.

Every run takes them all, so a page that stops rendering fails here. They are written to
docs/screenshots/ (the committed ones the README shows) only when asked:

    VIGIL_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_screenshots.py

otherwise to a temporary folder, so an ordinary test run leaves the checkout as it was.
"""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.browser import harness, sample
from tests.browser.harness import screenshot
from tests.browser.steps import csp_violations, sign_in, type_password, watch_console

DESKTOP_BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
# (endpoint, path, screenshot name); a page not built yet is left out
PAGES = [
    ("console.now", "/", "now"),
    ("console.incidents", "/incidents?status=open&customer=acme", "incidents"),
    ("console.triage", "/triage", "triage"),
    ("console.oncall", "/oncall", "oncall"),
    ("console.service", "/services/checkout", "services"),  # a service's integrations and intake URLs
    ("console.users", "/users", "users"),
    ("console.logins", "/logins", "logins"),
    ("console.audit", "/audit", "audit"),
]


@pytest.fixture
def shots(monkeypatch, tmp_path):
    if os.environ.get("VIGIL_SCREENSHOTS") != "1":
        monkeypatch.setattr(harness, "SCREENSHOTS", tmp_path)
    return harness


def test_readme_screenshots(shots, browser, live_server, app, session, make, clock, page):
    data = sample.load(session, make, clock, live_server, app.config["VIGIL"].public_url)
    page.context.set_extra_http_headers({"User-Agent": DESKTOP_BROWSER})  # for the sign-in records
    messages = watch_console(page)  # every page is visited: none may use inline script or style

    page.goto("/login")
    type_password(page, "lee@ops.example", "Lee-is-sure-this-is-it")  # a sign-in record that failed
    page.get_by_label("E-mail").fill("lee@ops.example")
    screenshot(page, "signin", full_page=False)
    sign_in(page, data.admin)

    for endpoint, path, name in PAGES:
        if endpoint not in app.view_functions:
            continue
        assert page.goto(path).status == 200, path
        screenshot(page, name, full_page=False)

    if "console.incident" in app.view_functions:
        assert page.goto(f"/incidents/{data.long_story}").status == 200
        expect(page.locator("main")).to_contain_text("Rolling it back now")
        screenshot(page, "incident", full_page=True)  # the whole story: alerts, pages, answers, comments
        _phone_incident(browser, live_server, page.context.storage_state(), data.outage)

    _enrolment(browser, live_server, data.newcomer)
    taken = {p.stem for p in shots.SCREENSHOTS.glob("*.png")}
    assert {"signin", "totp-enrolment", "now"} <= taken, taken
    assert csp_violations(messages) == []


def _enrolment(browser, live_server, newcomer):
    context = harness.new_context(browser, live_server)
    try:
        page = context.new_page()
        type_password(page, newcomer.email)
        expect(page.locator("figure.qr svg")).to_be_visible()
        page.get_by_text("Can't scan? Enter this key by hand").click()
        screenshot(page, "totp-enrolment", full_page=False)
    finally:
        context.close()


def _phone_incident(browser, live_server, signed_in: dict, incident_id: int):
    """The same session on a phone (a 2x screen rather than `phone_page`'s 3x: as sharp in a README,
    half the bytes)."""
    context = browser.new_context(base_url=live_server, storage_state=signed_in,
                                  **{**harness.PHONE, "device_scale_factor": 2})
    context.set_default_timeout(harness.TIMEOUT_MS)
    try:
        page = context.new_page()
        assert page.goto(f"/incidents/{incident_id}").status == 200
        expect(page.get_by_role("button", name="Acknowledge")).to_be_visible()
        screenshot(page, "incident-phone", full_page=False)
    finally:
        context.close()
