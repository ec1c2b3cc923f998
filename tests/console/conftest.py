"""Console test helpers: a test client that signs in like a person (password, then TOTP) and
sends the CSRF token with every form, as the browser does."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest

from incidents import clock
from incidents.domain.enums import Role
from tests.factories import PASSWORD, totp_in_clear

TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def totp_now(secret: str, *, later: int = 0) -> str:
    return pyotp.TOTP(totp_in_clear(secret)).at(clock.now() + timedelta(seconds=30 * later))


class Console:
    """A signed-in browser stand-in: `get`, and `post` with the CSRF token filled in."""

    def __init__(self, client, user):
        self.client, self.user, self.token = client, user, None

    def get(self, url, **kw):
        response = self.client.get(url, **kw)
        if response.status_code == 200 and "text/html" in response.content_type:
            found = TOKEN.search(response.get_data(as_text=True))
            if found:
                self.token = found.group(1)
        return response

    def post(self, url, data=None, *, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/account")
            data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kw)


def sign_in(client, user, *, password: str = PASSWORD) -> Console:
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                           "email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    page = client.get(response.headers["Location"])
    response = client.post("/login/second-factor", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "code": totp_now(user.totp_secret)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return Console(client, user)


@pytest.fixture
def console(app, make, clock):
    """console(role) -> a Console signed in as a new user with that role (one per e-mail)."""
    def open_as(role: Role = Role.OPS_ENGINEER, email: str | None = None) -> Console:
        user = make.console_user(email or f"{role.value.replace('_', '-')}@ops.example", role)
        return sign_in(app.test_client(), user)
    return open_as
