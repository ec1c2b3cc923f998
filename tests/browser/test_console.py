"""The console in a real browser: signing in, refusals a person would see, and hostile alert text.

Every step types and clicks as a person would; the server is the app over real HTTP (live_server).
These tests use the real clock (TOTP codes and countdowns follow it), except the lock-out test,
which freezes time near now and moves it forward instead of waiting out the slow-down.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import pyotp
from playwright.sync_api import expect

from incidents.domain.enums import Role
from tests.browser.steps import csp_violations, post_alert, sign_in, type_password, watch_console
from tests.factories import PASSWORD

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">'


def test_first_admin_signs_in_and_enrols_totp(page, make):
    admin = make.console_user("first@ops.example", Role.ADMIN, enrolled=False)
    messages = watch_console(page)

    page.goto("/")  # not signed in: sent to the sign-in page
    expect(page).to_have_url(re.compile(r"/login\?next="))
    type_password(page, admin.email)

    expect(page).to_have_url(re.compile(r"/login/enrol$"))
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()  # the QR code, drawn inline
    page.get_by_text("Can't scan? Enter this key by hand").click()
    key = page.locator("code.secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", key), key

    page.get_by_label("Code").fill(pyotp.TOTP(key).now())  # what the authenticator app would show
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Your second factor is set up")).to_be_visible()
    codes = page.locator("ol.codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes), codes
    page.get_by_role("link", name="I have saved them — continue").click()

    expect(page.get_by_role("heading", name="Now", exact=True)).to_be_visible()
    expect(page.locator("header .who")).to_contain_text("first@ops.example")
    assert csp_violations(messages) == []


def test_alert_text_with_markup_renders_as_text(page, make, live_server):
    make.rules()
    checkout = make.service("checkout", customer=make.customer("acme"))
    incident_id = post_alert(live_server, checkout.keys["generic"], f"Checkout down {HOSTILE}",
                             severity="critical", source=HOSTILE, details={"note": HOSTILE})
    messages = watch_console(page)

    sign_in(page, make.console_user("ops@ops.example", Role.OPS_ENGINEER))
    for path in ("/", "/incidents", f"/incidents/{incident_id}"):
        if path != "/":
            page.goto(path)
        expect(page.locator("main")).to_contain_text(f"Checkout down {HOSTILE}")  # shown, not run
        assert page.locator("main img, main script").count() == 0, path
        assert page.evaluate("typeof window.__pwned") == "undefined", path
    expect(page.locator("ol.timeline")).to_contain_text(f"from {HOSTILE}")  # the alert's source, too
    assert csp_violations(messages) == []


def test_a_form_without_its_csrf_token_is_refused(page, make):
    user = make.console_user("ops@ops.example", Role.OPS_ENGINEER)
    page.goto("/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.evaluate("document.querySelector('main form input[name=csrf_token]').remove()")

    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Continue").click()

    assert sent.value.status == 400
    expect(page.locator("main")).to_contain_text("The form was not sent from this page of Vigil")
    expect(page.get_by_label("Code")).to_have_count(0)  # the password was not even looked at


def test_repeated_wrong_passwords_lock_the_account(page, make, clock):
    clock.at = datetime.fromtimestamp(time.time(), timezone.utc)  # frozen near now, moved by hand
    user = make.console_user("ops@ops.example", Role.OPS_ENGINEER)
    alert = page.get_by_role("alert")

    for _ in range(3):  # free attempts
        assert type_password(page, user.email, "not-my-password").status == 401
        expect(alert).to_have_text("Wrong e-mail or password.")
    type_password(page, user.email, "not-my-password")  # straight away: slowed down
    expect(alert).to_contain_text("Too many failed sign-ins. Try again in")

    for _ in range(7):  # each after the wait, until ten failures lock the account
        clock.advance(seconds=61)
        type_password(page, user.email, "not-my-password")
        expect(alert).to_have_text("Wrong e-mail or password.")

    clock.advance(seconds=61)
    assert type_password(page, user.email, PASSWORD).status == 401  # the right password, too late
    expect(alert).to_have_text(re.compile(r"Too many failed sign-ins\. Try again in 1[34] minutes\."))
    expect(page).to_have_url(re.compile(r"/login$"))
