"""The console's admin pages: users and roles (invitations by e-mail or by hand), API keys, and
sign-in records. Only admins get in; every change lands in the audit trail."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import ApiKey, AuditEvent, LoginRecord, User
from incidents.providers.email import SmtpMailer
from tests.console.conftest import csrf_from, sign_in
from tests.factories import PASSWORD
from tests.fakes.smtp import closed_port
from tests.fakes.smtp import smtp_sink  # noqa: F401

NEW_PASSWORD = "Copper-Kettle-Sings-7"
LINK = re.compile(r"http://vigil\.test/invite/[\w-]+")


def actions(session) -> list[str]:
    session.rollback()  # a fresh read: see what the requests committed
    return session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def mailer(app):
    """mailer(settings): the app sends account e-mail through these SMTP settings for one test."""
    before = app.extensions.get("vigil.mailer")

    def use(settings):
        app.extensions["vigil.mailer"] = SmtpMailer(settings)

    yield use
    app.extensions["vigil.mailer"] = before


@pytest.fixture
def admin(console):
    return console(Role.ADMIN, "lee@ops.example")


# Users and roles --------------------------------------------------------------------------------

def test_users_page_shows_console_accounts_and_on_call_staff(app, console, make, session, clock):
    make.user("oncall@ops.example", Role.RESPONDER)  # from vigil apply: no password
    viewer = make.console_user("viv@ops.example", Role.VIEWER)
    sign_in(app.test_client(), viewer)
    clock.advance(days=3)
    page = text(console(Role.ADMIN, "lee@ops.example").get("/users"))
    row = page[page.index("oncall@ops.example"):]
    assert "no password" in row[:800] and "on-call only" in row[:800]
    row = page[page.index("viv@ops.example"):]
    assert "viewer" in row[:800] and "can sign in" in row[:800] and "enrolled" in row[:800]
    assert "3d 0h" in row[:800]  # password age
    assert "3d 0h ago" in row[:800]  # last sign-in


def test_invitation_is_mailed_and_its_link_sets_a_password(admin, app, mailer, smtp_sink, session, clock):
    mailer(smtp_sink.settings())
    response = admin.post("/users/invite", {"email": "New.Person@ops.example", "role": "responder",
                                            "name": "New Person"})
    assert response.status_code == 303
    page = text(admin.get(response.headers["Location"]))
    assert "Invitation e-mailed to new.person@ops.example" in page
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ("new.person@ops.example",)
    body = received.message.get_content()
    assert "Lee" in body and "responder" in body
    link = LINK.search(body).group(0)
    assert link.split("/")[-1] not in page  # the token is in the e-mail only

    invitee = app.test_client()
    form = invitee.get(link.removeprefix("http://vigil.test"))
    assert form.status_code == 200 and "new.person@ops.example" in text(form)
    done = invitee.post(link.removeprefix("http://vigil.test"), data={
        "csrf_token": csrf_from(text(form)), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    login = invitee.get("/login")
    step = invitee.post("/login", data={"csrf_token": csrf_from(text(login)), "email": "new.person@ops.example",
                                        "password": NEW_PASSWORD})
    assert step.headers["Location"].endswith("/login/enrol")  # next: set up the second factor
    assert actions(session) == ["user.invite", "user.accept_invite"]


def test_without_email_the_admin_sees_the_link_once_and_it_is_not_logged(admin, app, session, caplog, clock):
    assert app.extensions.get("vigil.mailer") is None
    with caplog.at_level(logging.DEBUG):
        response = admin.post("/users/invite", {"email": "ola@ops.example", "role": "viewer"})
    page = text(response)
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    assert "E-mail is not set up" in page and "shown only now" in page and "only they can read" in page
    link = LINK.search(page).group(0)
    token = link.split("/")[-1]
    assert token not in caplog.text
    assert token not in text(admin.get("/users"))  # once: not on any later page
    user = session.scalars(select(User).where(User.email == "ola@ops.example")).one()
    assert token not in text(admin.get(f"/users/{user.id}"))
    assert "invited" in text(admin.get("/users"))
    assert app.test_client().get(link.removeprefix("http://vigil.test")).status_code == 200


def test_when_the_mail_server_is_down_the_link_is_shown_with_a_note(admin, mailer, smtp_sink, clock):
    mailer(smtp_sink.settings(port=closed_port()))
    page = text(admin.post("/users/invite", {"email": "ola@ops.example", "role": "viewer"}))
    assert "could not be sent" in page and LINK.search(page)


def test_invite_refuses_an_existing_account_and_bad_input(admin, make, session, clock):
    make.console_user("ana@ops.example")
    taken = admin.post("/users/invite", {"email": "ana@ops.example", "role": "viewer"})
    assert taken.status_code == 409 and "already has an account" in text(taken)
    long = admin.post("/users/invite", {"email": "a" * 250 + "@ops.example", "role": "viewer"})
    assert long.status_code == 400 and "E-mail: Field cannot be longer than 254 characters" in text(long)
    bad = admin.post("/users/invite", {"email": "not-an-address", "role": "viewer"})
    assert bad.status_code == 422 and "E-mail:" in text(bad)
    role = admin.post("/users/invite", {"email": "ola@ops.example", "role": "superuser"})
    assert role.status_code == 400 and "Role: choose one of the listed values" in text(role)
    assert actions(session) == []


def test_a_role_change_applies_at_the_next_request(admin, console, session, clock):
    other = console(Role.ADMIN, "kim@ops.example")
    assert other.get("/users").status_code == 200
    response = admin.post(f"/users/{other.user.id}/role", {"role": "viewer"})
    assert response.status_code == 303
    assert "kim@ops.example is now viewer" in text(admin.get(response.headers["Location"]))
    assert other.get("/users").status_code == 403  # the same session, checked with the new role
    assert other.get("/").status_code == 200
    event = session.scalars(select(AuditEvent)).one()
    assert (event.action, event.target, event.details) == ("user.set_role", "kim@ops.example",
                                                           {"from": "admin", "to": "viewer"})
    assert (event.actor, event.door, event.ip) == ("lee@ops.example", "console", "127.0.0.1")


def test_the_last_admin_cannot_be_demoted(admin, session, clock):
    response = admin.post(f"/users/{admin.user.id}/role", {"role": "viewer"}, follow_redirects=True)
    assert "Vigil needs at least one active admin" in text(response)
    session.rollback()
    assert session.get(User, admin.user.id).role == "admin" and actions(session) == []


def test_deactivate_signs_out_and_reactivate_restores(admin, console, session, clock):
    ana = console(Role.OPS_ENGINEER, "ana@ops.example")
    response = admin.post(f"/users/{ana.user.id}/deactivate", follow_redirects=True)
    assert "ana@ops.example is deactivated" in text(response) and "deactivated" in text(admin.get("/users"))
    assert ana.get("/").status_code == 302  # signed out at once
    admin.post(f"/users/{ana.user.id}/reactivate")
    session.rollback()
    assert session.get(User, ana.user.id).active is True
    clock.advance(seconds=30)  # a new TOTP code
    assert sign_in(admin.client.application.test_client(), ana.user).get("/").status_code == 200
    assert actions(session) == ["user.deactivate", "user.reactivate"]


def test_an_admin_cannot_deactivate_themselves(admin, console, session, clock):
    console(Role.ADMIN, "kim@ops.example")  # another admin, so only the self-check refuses
    response = admin.post(f"/users/{admin.user.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in text(response)
    assert admin.get("/users").status_code == 200


def test_reset_second_factor_makes_the_user_enrol_again(admin, console, app, session, clock):
    ana = console(Role.OPS_ENGINEER, "ana@ops.example")
    response = admin.post(f"/users/{ana.user.id}/reset-second-factor", follow_redirects=True)
    assert "set up a new one at their next sign-in" in text(response)
    assert ana.get("/").status_code == 302  # the old session ended
    client = app.test_client()
    step = client.post("/login", data={"csrf_token": csrf_from(text(client.get("/login"))),
                                       "email": "ana@ops.example", "password": PASSWORD})
    assert step.headers["Location"].endswith("/login/enrol")
    assert actions(session) == ["user.reset_second_factor"]


def test_require_password_change_sends_the_user_to_the_password_form(admin, console, make, session, clock):
    ana = console(Role.OPS_ENGINEER, "ana@ops.example")
    admin.post(f"/users/{ana.user.id}/require-password-change")
    response = ana.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
    staff = make.user("oncall@ops.example")
    refused = admin.post(f"/users/{staff.id}/require-password-change", follow_redirects=True)
    assert "has no password yet" in text(refused)
    assert actions(session) == ["user.require_password_change"]


@pytest.mark.parametrize("url", ["/users/999", "/users/0", "/users/abc", "/users/99999999999"])
def test_unknown_or_tampered_user_ids_get_the_404_page(admin, url, clock):
    response = admin.get(url)
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_a_form_for_a_user_removed_meanwhile_says_so(admin, make, session, clock):
    gone = make.user("gone@ops.example")
    gone_id = gone.id
    session.delete(gone)
    session.commit()
    for verb, data in (("role", {"role": "viewer"}), ("role", {"role": "bogus"}), ("deactivate", {}),
                       ("reactivate", {}), ("reset-second-factor", {}), ("require-password-change", {})):
        response = admin.post(f"/users/{gone_id}/{verb}", data)
        assert response.status_code == 404, verb
        assert f"User {gone_id} does not exist (it may have been removed)." in text(response)
    assert actions(session) == []


ADMIN_GETS = ["/users", "/users/{id}", "/api-keys", "/logins", "/audit", "/audit.csv"]
ADMIN_POSTS = ["/users/invite", "/users/{id}/role", "/users/{id}/deactivate", "/users/{id}/reactivate",
               "/users/{id}/reset-second-factor", "/users/{id}/require-password-change", "/api-keys",
               "/api-keys/{key}/revoke"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER, Role.OPS_ENGINEER])
def test_only_admins_reach_the_admin_pages(console, make, session, role, clock):
    target = make.console_user("ana@ops.example", Role.OPS_ENGINEER)
    make.api_key("read")
    key = session.scalars(select(ApiKey)).one()
    someone = console(role, "someone@ops.example")
    for url in ADMIN_GETS:
        assert someone.get(url.format(id=target.id)).status_code == 403, url
    data = {"email": "x@ops.example", "role": "admin", "name": "x", "scope": "admin"}
    for url in ADMIN_POSTS:
        assert someone.post(url.format(id=target.id, key=key.id), data).status_code == 403, url
    session.rollback()
    assert session.get(User, target.id).role == "ops_engineer" and session.get(User, target.id).active
    assert session.get(ApiKey, key.id).revoked_at is None
    assert session.scalars(select(ApiKey)).all() == [key] and actions(session) == []
    assert "/users" not in text(someone.get("/"))  # and the menu does not offer them


# API keys ---------------------------------------------------------------------------------------

def test_an_api_key_is_shown_once_works_and_stops_when_revoked(admin, client, session, clock):
    response = admin.post("/api-keys", {"name": "grafana-reader", "scope": "read"})
    page = text(response)
    assert response.status_code == 200 and "shown only now" in page
    assert "no-store" in response.headers["Cache-Control"]
    key = re.search(r'<code id="api-key" class="secret">([^<]+)</code>', page).group(1)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/incidents", headers=headers).status_code == 200

    listing = text(admin.get("/api-keys"))
    assert "grafana-reader" in listing and key not in listing and key[-4:] in listing
    row = session.scalars(select(ApiKey)).one()
    assert row.last_used_at is not None

    response = admin.post(f"/api-keys/{row.id}/revoke")
    assert response.status_code == 303 and key not in response.headers["Location"]
    assert "revoked" in text(admin.get("/api-keys"))
    assert client.get("/api/v1/incidents", headers=headers).status_code == 401
    assert actions(session) == ["api_key.create", "api_key.revoke"]
    created = session.scalars(select(AuditEvent)).first()
    assert key not in str(created.details) and created.details["scope"] == "read"


def test_api_key_form_refuses_bad_input_clearly(admin, session, clock):
    long = admin.post("/api-keys", {"name": "k" * 101, "scope": "read"})
    assert long.status_code == 400 and "Name: Field cannot be longer than 100 characters" in text(long)
    empty = admin.post("/api-keys", {"name": "   ", "scope": "read"})
    assert empty.status_code == 400 and "Name: Name the key after what uses it." in text(empty)
    scope = admin.post("/api-keys", {"name": "x", "scope": "root"})
    assert scope.status_code == 400 and "Scope: choose one" in text(scope)
    assert session.scalars(select(ApiKey)).all() == []
    assert admin.post("/api-keys/999/revoke").status_code == 404
    assert admin.post("/api-keys/99999999999/revoke").status_code == 404


def test_keys_made_and_revoked_over_the_api_are_audited_too(client, make, session, clock):
    headers = {"Authorization": f"Bearer {make.api_key('admin')}"}
    made = client.post("/api/v1/api-keys", json={"name": "ci", "scope": "write"}, headers=headers)
    assert made.status_code == 201
    assert client.delete(f"/api/v1/api-keys/{made.json['id']}", headers=headers).status_code == 204
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor, e.door, e.target) for e in events] == [
        ("api_key.create", "api key tests-admin", "api", "ci"), ("api_key.revoke", "api key tests-admin", "api", "ci")]


# Sign-in records --------------------------------------------------------------------------------

def _try(client, email, password="Wrong-Password-99!", agent="Mozilla/5.0"):
    page = client.get("/login")
    return client.post("/login", headers={"User-Agent": agent}, data={
        "csrf_token": csrf_from(text(page)), "email": email, "password": password})


def test_sign_in_records_show_what_strangers_typed_as_text(admin, client, clock):
    _try(client, "<script>alert('e')</script>@x.example", agent="<script>alert('ua')</script>")
    page = text(admin.get("/logins"))
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&#39;ua&#39;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#39;e&#39;)&lt;/script&gt;@x.example" in page
    assert "unknown e-mail" in page


def test_sign_in_records_filter_by_email_address_and_outcome(admin, client, make, clock):
    make.console_user("ana@ops.example")
    _try(client, "ana@ops.example")
    _try(client, "ghost@ops.example")
    failures = text(admin.get("/logins?outcome=failures"))
    assert "ghost@ops.example" in failures and "wrong password" in failures and "signed in</span>" not in failures
    successes = text(admin.get("/logins?outcome=success"))
    assert "lee@ops.example" in successes and "ghost@ops.example" not in successes
    by_email = text(admin.get("/logins?email=GHOST@ops.example"))
    assert "ghost@ops.example" in by_email and "wrong password" not in by_email
    assert "No sign-in attempts match" in text(admin.get("/logins?ip=203.0.113.1"))
    assert "127.0.0.1" in text(admin.get("/logins?ip=127.0.0.1"))
    assert admin.get("/logins?email=" + "a" * 300).status_code == 400
    assert admin.get("/logins?outcome=bogus").status_code == 400


def test_sign_in_records_page_newest_first(admin, session, clock):
    start = clock()
    session.add_all(LoginRecord(at=start - timedelta(minutes=n), email=f"u{n:03d}@ops.example", ip="192.0.2.7",
                                user_agent="", outcome="bad_password", success=False) for n in range(1, 61))
    session.commit()
    first = text(admin.get("/logins?ip=192.0.2.7"))
    assert first.index("u001@") < first.index("u050@") and "u051@" not in first
    older = re.search(r'href="(/logins\?[^"]*before=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = text(admin.get(older))
    assert "u051@" in second and "u060@" in second and "u050@" not in second
    assert "Older" not in second and "Newest" in second
    assert admin.get("/logins?before=garbage").status_code == 200  # a mangled cursor: the first page


def test_sign_in_summary_counts_failures_and_names_who_is_held_back(admin, client, clock):
    for _ in range(10):
        _try(client, "ghost@ops.example")
        clock.advance(seconds=61)
    page = text(admin.get("/logins"))
    summary = page[:page.index("<table")]
    assert re.search(r"Failed sign-ins, last 24 h</dt><dd>10<", summary)
    assert "locked" in summary and "ghost@ops.example" in summary
    clock.advance(hours=1)
    assert "nobody: no e-mail or address is being slowed down" in text(admin.get("/logins"))
