"""The breach playbook in a real browser: an admin declares a breach on a security_breach incident
(typing their authenticator code again), watches the run page follow the steps until the run is
done, and sees the new API key once. The worker does not run in browser tests, so the test runs the
playbook.advance task in this process, as the worker would; the page learns of it by its own poll.
Customers' notices go by the real SMTP mailer into a local sink."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

import workers.tasks.playbook  # noqa: F401  (registers the playbook.advance task)
from incidents.domain.enums import Role
from incidents.models import PlaybookRun, Setting
from incidents.providers.email import SmtpMailer
from tests.browser.steps import csp_violations, no_horizontal_scroll, post_alert, sign_in, totp, watch_console
from tests.fakes.smtp import smtp_sink  # noqa: F401  (fixture)

PLAYBOOK = {"notify_customers": "all", "template": "Dear {customer}: {summary}. We are {actions}.",
            "subject": "Security incident notice", "auto_start": False, "secret_store": "vigil",
            "rotate": [{"type": "vigil_api_keys"}],  # Vigil's own keys only: no outside service needed
            "drill": {"every": "quarter", "recipients": [], "targets": {}}}


@pytest.fixture
def mailer(app, smtp_sink):  # noqa: F811
    before = app.extensions["vigil.mailer"]
    app.extensions["vigil.mailer"] = SmtpMailer(smtp_sink.settings())
    yield smtp_sink
    app.extensions["vigil.mailer"] = before


@pytest.fixture
def breach(make, session, live_server):
    """A breach incident opened by an alert, a customer contact to notify, an API key to rotate."""
    make.rules()
    acme = make.customer("acme")
    acme.contacts = [{"name": "Ana at Acme", "email": "ana@acme.example"}]
    session.add(Setting(key="breach_playbook", value=PLAYBOOK))
    session.commit()
    checkout = make.service("checkout", customer=acme)
    make.api_key("read", "grafana")
    return post_alert(live_server, checkout.keys["generic"], "Possible intrusion on db-1", severity="critical")


def test_admin_declares_a_breach_and_watches_the_playbook_run(page, app, make, session, clock, mailer, breach):
    admin = make.console_user("root@ops.example", Role.ADMIN)
    messages = watch_console(page)
    page.on("dialog", lambda dialog: dialog.accept())  # "Start the breach playbook? Customers will be notified."
    sign_in(page, admin, path=f"/incidents/{breach}")
    panel = page.locator("#breach-playbook")
    expect(panel.get_by_label("What happened")).to_have_value("Possible intrusion on db-1")

    panel.get_by_label("Authenticator code").fill("000000")  # not the current code: refused, nothing starts
    panel.get_by_role("button", name="Start breach playbook").click()
    expect(page.locator(".flash.error")).to_contain_text("authenticator code is not right")
    assert session.query(PlaybookRun).count() == 0

    clock.advance(seconds=30)  # a code works once: the next one
    panel.get_by_label("Authenticator code").fill(totp(admin.totp_secret))
    panel.get_by_role("button", name="Start breach playbook").click()
    expect(page.locator(".flash.success")).to_contain_text("Breach playbook started")
    run_id = int(re.search(r"/playbook/runs/(\d+)$", page.url).group(1))
    steps = page.locator("ol.playbook-steps > li")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("1. Notify customers")
    expect(steps.nth(1)).to_contain_text("2. Revoke and regenerate Vigil API keys")
    expect(page.locator("#run-state")).to_contain_text("running")

    task = app.extensions["celery"].tasks["playbook.advance"]
    while task(run_id) is not None:  # the worker's part, in this process
        pass
    # The page's own poll (every 10 s) sees the run finish and reloads with the report.
    expect(page.locator("#run-state")).to_contain_text("done", timeout=20_000)
    expect(steps.nth(0)).to_contain_text("done")
    expect(page.locator("#notice-counts")).to_contain_text("1 sent")
    expect(page.get_by_role("heading", name="Report")).to_be_visible()
    assert mailer.wait_for(1)[0].message["To"] == "ana@acme.example"

    clock.advance(seconds=30)
    page.locator("#new-keys").get_by_label("Authenticator code").fill(totp(admin.totp_secret))
    page.get_by_role("button", name="Show new keys").click()
    expect(page.get_by_role("heading", name=f"New keys of run #{run_id}")).to_be_visible()
    key = page.locator("code.secret").first.inner_text()
    assert len(key) > 20 and key not in page.url
    page.get_by_role("link", name="Done").click()
    expect(page.locator(".note")).to_contain_text("shown once and are no longer kept")
    assert key not in page.content()
    assert csp_violations(messages) == []


def test_the_playbook_pages_fit_a_phone(phone_page, make, session, clock, breach):
    admin = make.console_user("root@ops.example", Role.ADMIN)
    messages = watch_console(phone_page)
    sign_in(phone_page, admin, path=f"/incidents/{breach}")
    expect(phone_page.get_by_role("button", name="Start breach playbook")).to_be_visible()
    assert no_horizontal_scroll(phone_page)
    run = PlaybookRun(incident_id=breach, mode="live", state="failed", started_by=admin.email,
                      started_at=clock(), aware_at=clock(), config=PLAYBOOK,
                      error="step 2 (Revoke and regenerate Vigil API keys) failed: the database went away")
    session.add(run)
    session.commit()
    phone_page.goto("/playbook")
    expect(phone_page.locator(f'a[href="/playbook/runs/{run.id}"]')).to_be_visible()
    assert no_horizontal_scroll(phone_page)
    phone_page.goto(f"/playbook/runs/{run.id}")
    expect(phone_page.locator("#run-state")).to_contain_text("failed")
    assert no_horizontal_scroll(phone_page)
    phone_page.goto(f"/incidents/{breach}")
    expect(phone_page.locator("#breach-playbook")).to_contain_text(f"Run #{run.id}")
    assert no_horizontal_scroll(phone_page)
    assert csp_violations(messages) == []
