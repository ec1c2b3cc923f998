"""What a person does in the console, as Playwright steps: sign in, post an alert, watch the console.

Sign-in goes through the real pages (typing, clicking), with TOTP codes computed from the user's
secret at the server's time (`incidents.clock`), so a frozen `clock` works as well as the real one.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import requests

from incidents import clock
from tests.factories import PASSWORD, totp_in_clear

CSP_WORDS = "Content Security Policy"
_used_steps: dict[str, int] = {}  # secret -> the last TOTP step a helper typed (a code works once)


def totp(secret: str) -> str:
    """A code the server accepts now: the current step, or the next one (one step of drift is
    allowed) when the current one was already used by an earlier sign-in in this test."""
    secret = totp_in_clear(secret)
    now = clock.now()
    step = int(now.timestamp()) // 30
    if _used_steps.get(secret, -1) >= step:
        step = _used_steps[secret] + 1
        now += timedelta(seconds=30 * (step - int(now.timestamp()) // 30))
    _used_steps[secret] = step
    return pyotp.TOTP(secret).at(now)


def type_password(page, email: str, password: str = PASSWORD):
    """The sign-in form, typed and sent; returns the response to the POST."""
    if urlsplit(page.url).path != "/login":
        page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Continue").click()
    return sent.value


def sign_in(page, user, *, password: str = PASSWORD, path: str = "/") -> None:
    """Password, then the TOTP code; ends on `path` (the Now page by default)."""
    page.goto("/login" if path == "/" else f"/login?next={path}")
    type_password(page, user.email, password)
    page.get_by_label("Code").fill(totp(user.totp_secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert urlsplit(page.url).path == path, page.url


def post_alert(live_server: str, key: str, summary: str, **body) -> int | None:
    """One alert through the generic intake, as a monitoring script would send it; its incident's id."""
    response = requests.post(f"{live_server}/api/v1/alerts", json={"summary": summary, **body},
                             headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()["alerts"][0]["incident_id"]


def watch_console(page) -> list[str]:
    """Everything the page logs to its console (errors, CSP violations) from now on."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    return messages


def csp_violations(messages: list[str]) -> list[str]:
    return [m for m in messages if CSP_WORDS in m]


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
