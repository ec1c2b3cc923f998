"""Signing in to the console: password, second factor, sessions, lock-out, one-time links."""
from __future__ import annotations

import re

from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import AuditEvent, LoginRecord, User
from incidents.services import audit
from incidents.services.accounts import users
from incidents.services.actor import Actor
from tests.console.conftest import csrf_from, sign_in, totp_now
from tests.factories import PASSWORD, totp_in_clear


def _login(client, email, password):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "email": email, "password": password})


def test_pages_need_a_signed_in_user(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_sign_in_with_password_and_totp_reaches_now(client, make, clock):
    user = make.console_user("ana@ops.example", Role.OPS_ENGINEER)
    console = sign_in(client, user)
    page = console.get("/")
    assert page.status_code == 200 and "ana@ops.example" in page.get_data(as_text=True)


def test_password_alone_does_not_open_the_console(client, make, clock):
    user = make.console_user()
    assert _login(client, user.email, PASSWORD).status_code == 302
    assert client.get("/").status_code == 302  # still on the way to the second factor


def test_first_sign_in_enrols_totp_and_shows_recovery_codes(client, make, session, clock):
    user = make.console_user(enrolled=False)
    response = _login(client, user.email, PASSWORD)
    assert response.headers["Location"].endswith("/login/enrol")
    page = client.get("/login/enrol").get_data(as_text=True)
    assert "<svg" in page
    session.refresh(user)
    secret = totp_in_clear(user.totp_secret)
    assert secret in page and user.totp_secret not in page  # shown once, kept sealed in the database
    response = client.post("/login/enrol", data={"csrf_token": csrf_from(page), "code": totp_now(secret)})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "shown only now" in text
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", text)
    assert len(codes) == 10
    assert client.get("/").status_code == 200


def test_a_recovery_code_works_once(client, app, make, session, clock):
    user = make.console_user(enrolled=False)
    _login(client, user.email, PASSWORD)
    page = client.get("/login/enrol").get_data(as_text=True)
    session.refresh(user)
    text = client.post("/login/enrol", data={"csrf_token": csrf_from(page), "code": totp_now(user.totp_secret)}
                       ).get_data(as_text=True)
    code = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", text)[0]
    for attempt in range(2):
        other = app.test_client()
        _login(other, user.email, PASSWORD)
        page = other.get("/login/second-factor").get_data(as_text=True)
        response = other.post("/login/second-factor", data={"csrf_token": csrf_from(page), "code": code})
        assert response.status_code == (302 if attempt == 0 else 401)


def test_a_replayed_totp_code_is_refused(client, app, make, clock):
    user = make.console_user()
    sign_in(client, user)
    other = app.test_client()
    _login(other, user.email, PASSWORD)
    page = other.get("/login/second-factor").get_data(as_text=True)
    response = other.post("/login/second-factor", data={"csrf_token": csrf_from(page),
                                                         "code": totp_now(user.totp_secret)})
    assert response.status_code == 401 and "already used" in response.get_data(as_text=True)
    clock.advance(seconds=30)
    response = other.post("/login/second-factor", data={"csrf_token": csrf_from(page),
                                                         "code": totp_now(user.totp_secret)})
    assert response.status_code == 302


def test_wrong_password_and_unknown_email_read_the_same(client, make, session, clock):
    make.console_user()
    wrong = _login(client, "ana@ops.example", "Not-The-Password-1")
    unknown = _login(client, "nobody@ops.example", "Not-The-Password-1")
    assert wrong.status_code == unknown.status_code == 401
    message = "Wrong e-mail or password."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    rows = session.scalars(select(LoginRecord).order_by(LoginRecord.id)).all()
    assert [(r.email, r.outcome, r.success) for r in rows] == [
        ("ana@ops.example", "bad_password", False), ("nobody@ops.example", "unknown_user", False)]
    assert rows[0].ip == "127.0.0.1"


def test_successful_sign_in_is_recorded(client, make, session, clock):
    user = make.console_user()
    sign_in(client, user)
    row = session.scalars(select(LoginRecord)).one()
    assert (row.email, row.success, row.user_id, row.ip) == (user.email, True, user.id, "127.0.0.1")


def test_repeated_failures_slow_down_then_lock_without_revealing_the_account(client, make, clock):
    make.console_user()
    for email in ("ghost@ops.example", "ana@ops.example"):
        answers = []
        for _ in range(12):
            answers.append(_login(client, email, "Wrong-Password-99!").get_data(as_text=True))
            clock.advance(seconds=61)  # past every slow-down, so only the lock refuses
        assert "Too many failed sign-ins" in answers[-1]
    # Locked: even the right password is refused, with the same words as for a ghost.
    text = _login(client, "ana@ops.example", PASSWORD).get_data(as_text=True)
    assert "Too many failed sign-ins" in text
    clock.advance(minutes=16)
    assert _login(client, "ana@ops.example", PASSWORD).status_code == 302


def test_quick_retries_are_slowed_down(client, make, clock):
    make.console_user()
    for _ in range(4):
        _login(client, "ana@ops.example", "Wrong-Password-99!")
    text = _login(client, "ana@ops.example", PASSWORD).get_data(as_text=True)
    assert "Try again in" in text
    clock.advance(seconds=3)
    assert _login(client, "ana@ops.example", PASSWORD).status_code == 302


def test_one_address_guessing_many_accounts_is_locked(client, make, clock):
    make.console_user()
    for n in range(30):
        _login(client, f"guess{n}@ops.example", "Wrong-Password-99!")
        clock.advance(seconds=11)  # past the address's slow-down, so every guess counts
    text = _login(client, "ana@ops.example", PASSWORD).get_data(as_text=True)
    assert "Too many failed sign-ins" in text


def test_form_without_csrf_token_is_refused(client, make, clock):
    make.console_user()
    response = client.post("/login", data={"email": "ana@ops.example", "password": PASSWORD})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)


def test_sign_out_everywhere_ends_other_sessions(app, make, clock):
    user = make.console_user()
    phone = sign_in(app.test_client(), user)
    clock.advance(seconds=30)
    laptop = sign_in(app.test_client(), user)
    assert laptop.post("/account/sign-out-everywhere").status_code == 302
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 302


def test_idle_and_absolute_timeouts(app, make, clock):
    user = make.console_user()
    idle = sign_in(app.test_client(), user)
    clock.advance(minutes=61)
    response = idle.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    clock.advance(seconds=30)
    busy = sign_in(app.test_client(), user)
    for _ in range(13):
        clock.advance(minutes=59)
        last = busy.get("/")
    assert last.status_code == 302


def test_expired_password_must_be_changed(client, make, session, clock):
    user = make.console_user()
    clock.advance(days=31)
    console = sign_in(client, user)
    response = console.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
    page = console.get("/account/password")
    weak = console.post("/account/password", {"current": PASSWORD, "password": "password1234",
                                              "confirm": "password1234"})
    assert weak.status_code == 400 and "upper-case" in weak.get_data(as_text=True)
    common = console.post("/account/password", {"current": PASSWORD, "password": "Password123!",
                                                "confirm": "Password123!"})
    assert "too common" in common.get_data(as_text=True)
    ok = console.post("/account/password", {"current": PASSWORD, "password": "Copper-Kettle-Sings-7",
                                            "confirm": "Copper-Kettle-Sings-7"})
    assert ok.status_code == 302 and page.status_code == 200
    assert console.get("/").status_code == 200


def test_invitation_link_sets_a_password_once(client, make, session, clock):
    admin = make.console_user("lee@ops.example", Role.ADMIN)
    user, token = users.invite(session, email="new@ops.example", role="responder", name=None,
                               actor=Actor.user(admin.id, admin.email), where=audit.Where("console", "127.0.0.1"),
                               now=clock())
    session.commit()
    page = client.get(f"/invite/{token}")
    assert page.status_code == 200 and "new@ops.example" in page.get_data(as_text=True)
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "password": "Copper-Kettle-Sings-7",
            "confirm": "Copper-Kettle-Sings-7"}
    assert client.post(f"/invite/{token}", data=data).status_code == 302
    assert client.get(f"/invite/{token}").status_code == 410
    assert client.get("/invite/not-a-token").status_code == 410
    assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all() == ["user.invite", "user.accept_invite"]


def test_expired_reset_link_is_refused(client, make, session, clock):
    user = make.console_user()
    _, token = users.request_reset(session, email=user.email, now=clock())
    session.commit()
    clock.advance(hours=2)
    response = client.get(f"/reset/{token}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)


def test_reset_request_reads_the_same_for_unknown_addresses(client, make, clock):
    make.console_user()
    answers = []
    for email in ("ana@ops.example", "ghost@ops.example"):
        page = client.get("/reset")
        response = client.post("/reset", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "email": email},
                               follow_redirects=True)
        answers.append(response.get_data(as_text=True).count("If that e-mail belongs to an account"))
    assert answers == [1, 1]


def test_security_headers_on_console_pages(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_open_redirect_after_sign_in_is_ignored(client, make, clock):
    user = make.console_user()
    page = client.get("/login?next=//evil.example/")
    response = client.post("/login?next=//evil.example/", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "email": user.email, "password": PASSWORD})
    page = client.get(response.headers["Location"])
    response = client.post("/login/second-factor", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                         "code": totp_now(user.totp_secret)})
    assert response.headers["Location"] == "/"


def test_deactivated_user_is_signed_out(app, make, session, clock):
    admin = make.console_user("lee@ops.example", Role.ADMIN)
    user = make.console_user()
    console = sign_in(app.test_client(), user)
    users.deactivate(session, user_id=user.id, actor=Actor.user(admin.id, admin.email),
                     where=audit.Where("console"), now=clock())
    session.commit()
    assert console.get("/").status_code == 302
    assert session.get(User, user.id).active is False
