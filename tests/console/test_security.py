"""Browser-facing defences that every console page shares."""
from __future__ import annotations

from dataclasses import replace

import pytest

import config as settings
from incidents.app import create_app
from incidents.domain.enums import Role
from tests.console.conftest import csrf_from, sign_in


@pytest.fixture
def https_app(test_config):
    """Vigil behind one HTTPS reverse proxy."""
    return create_app(replace(test_config, public_url="https://vigil.example",
                              console=settings.ConsoleSettings(trusted_proxy_hops=1)))


def test_unknown_page_is_an_html_page_and_api_errors_stay_json(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Not found" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json["error"]["code"] == "not_found"


def test_behind_https_proxy_cookies_are_secure_and_hsts_is_sent(https_app):
    client = https_app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "vigil.example"}
    response = client.get("/login", headers=headers)
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_without_a_trusted_proxy_forwarded_for_is_ignored(client, make, session, clock):
    """Otherwise anyone could claim a fresh address per attempt and dodge the per-IP limit."""
    from incidents.models import LoginRecord
    make.console_user()
    page = client.get("/login")
    client.post("/login", headers={"X-Forwarded-For": "198.51.100.7"}, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "ana@ops.example", "password": "nope"})
    assert session.query(LoginRecord).one().ip == "127.0.0.1"


def test_behind_a_trusted_proxy_the_client_address_is_recorded(https_app, make, session, clock):
    from incidents.models import LoginRecord
    make.console_user()
    client = https_app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7",
               "X-Forwarded-Host": "vigil.example", "Referer": "https://vigil.example/login"}
    page = client.get("/login", headers=headers)
    assert page.headers["Referrer-Policy"] == "same-origin"  # so the browser sends the Referer below
    client.post("/login", headers=headers, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "ana@ops.example", "password": "nope"})
    assert session.query(LoginRecord).one().ip == "198.51.100.7"


def test_over_https_a_form_from_another_site_is_refused(https_app, make, clock):
    make.console_user()
    client = https_app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "vigil.example"}
    page = client.get("/login", headers=headers)
    response = client.post("/login", headers={**headers, "Referer": "https://evil.example/"}, data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": "ana@ops.example", "password": "x"})
    assert response.status_code == 400


def test_a_signed_in_form_without_its_token_changes_nothing(app, make, session, clock):
    user = make.console_user(role=Role.ADMIN)
    console = sign_in(app.test_client(), user)
    response = console.post("/account/sign-out-everywhere", csrf=False)
    assert response.status_code == 400
    assert console.get("/").status_code == 200  # still signed in: the request did nothing


def test_htmx_request_after_the_session_ended_is_sent_to_sign_in(app, make, clock):
    console = sign_in(app.test_client(), make.console_user())
    clock.advance(hours=2)
    response = console.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/login")


def test_countdown_macro_works_without_the_page_context(app, clock):
    """Any page may import the countdown without `with context`; it asks the clock itself."""
    from datetime import timedelta
    with app.test_request_context("/"):
        template = app.jinja_env.from_string(
            '{% from "console/_macros.html" import countdown %}{{ countdown(due) }}')
        assert "1h 30m left" in template.render(due=clock() + timedelta(minutes=90))
