"""Users and roles: everyone Vigil knows (console accounts and on-call staff from `vigil apply`),
and an admin's verbs on them. Each verb is one service call in incidents.services.accounts.users,
which writes the audit trail."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from incidents import clock
from incidents.domain.permissions import Permission
from incidents.services.accounts import mail as letters
from incidents.services.accounts import users
from incidents.services.accounts.tokens import LIFETIME
from incidents.services.errors import NotFound, ServiceError
from incidents.web.console import bp
from incidents.web.console.guard import actor, requires, where
from incidents.web.console.pages.users_forms import ROLE_HINT, InviteForm, RoleForm, first_error
from incidents.web.console.signin import public_link, send_letter
from incidents.web.session import db_session

USER_ID = "<int(min=1, max=2147483647):user_id>"  # larger ids cannot exist: a plain 404


@bp.get("/users", endpoint="users")
@requires(Permission.ADMIN)
def users_page():
    return _list(InviteForm())


def _list(form: InviteForm, *, error: str | None = None, status: int = 200):
    s = db_session()
    now = clock.now()
    return render_template("console/users.html", users=users.list_users(s), form=form, error=error,
                           last=users.last_sign_ins(s), invites=users.pending_invitations(s, now=now),
                           role_hint=ROLE_HINT), status


@bp.get(f"/users/{USER_ID}", endpoint="user")
@requires(Permission.ADMIN)
def user_page(user_id: int):
    s = db_session()
    user = users.get(s, user_id)  # NotFound: the console's 404 page names the id
    now = clock.now()
    form = RoleForm(role=user.role)
    return render_template("console/users_detail.html", user=user, form=form, role_hint=ROLE_HINT,
                           last=users.last_sign_ins(s).get(user.id),
                           invite_expires=users.pending_invitations(s, now=now).get(user.id))


@bp.post("/users/invite", endpoint="users_invite")
@requires(Permission.ADMIN)
def invite():
    form = InviteForm()
    if not form.validate():
        return _list(form, error=first_error(form), status=400)
    s = db_session()
    try:
        user, token = users.invite(s, email=form.email.data, role=form.role.data, name=form.name.data,
                                   actor=actor(), where=where(), now=clock.now())
    except ServiceError as exc:
        s.rollback()
        return _list(form, error=exc.message, status=exc.status)
    s.commit()
    link = public_link("console.invite", token=token)
    me = current_user.user
    if send_letter(letters.invitation(user, link, inviter=f"{me.name} ({me.email})")):
        flash(f"Invitation e-mailed to {user.email}. The link works once, for {LIFETIME['invite'].days} days.",
              "success")
        return redirect(url_for("console.user", user_id=user.id)), 303
    # No e-mail: the admin hands the link over. It is on this response only, never flashed or logged.
    mail_configured = current_app.extensions.get("vigil.mailer") is not None
    return render_template("console/users_invite_link.html", user=user, link=link,
                           mail_configured=mail_configured, days=LIFETIME["invite"].days)


@bp.post(f"/users/{USER_ID}/role", endpoint="user_role")
@requires(Permission.ADMIN)
def change_role(user_id: int):
    form = RoleForm()
    if not form.validate():
        users.get(db_session(), user_id)  # an unknown user is a 404 before a bad value is a 400
        flash(first_error(form), "error")
        return redirect(url_for("console.user", user_id=user_id)), 303
    return _act(user_id, users.set_role, "{email} is now {role}.", role=form.role.data)


@bp.post(f"/users/{USER_ID}/deactivate", endpoint="user_deactivate")
@requires(Permission.ADMIN)
def deactivate(user_id: int):
    return _act(user_id, users.deactivate, "{email} is deactivated and signed out everywhere.")


@bp.post(f"/users/{USER_ID}/reactivate", endpoint="user_reactivate")
@requires(Permission.ADMIN)
def reactivate(user_id: int):
    return _act(user_id, users.reactivate, "{email} is active again.")


@bp.post(f"/users/{USER_ID}/reset-second-factor", endpoint="user_reset_second_factor")
@requires(Permission.ADMIN)
def reset_second_factor(user_id: int):
    return _act(user_id, users.reset_second_factor,
                "{email}'s second factor is removed; they set up a new one at their next sign-in.")


@bp.post(f"/users/{USER_ID}/require-password-change", endpoint="user_require_password_change")
@requires(Permission.ADMIN)
def require_password_change(user_id: int):
    return _act(user_id, users.require_password_change,
                "{email} must choose a new password before doing anything else.")


def _act(user_id: int, verb, done: str, **kwargs):
    """One service verb on one user: success and refusals are flashed on the user's page; a user
    that does not exist (a stale page, an edited URL) gets the 404 page with the service's words."""
    s = db_session()
    try:
        user = verb(s, user_id=user_id, actor=actor(), where=where(), now=clock.now(), **kwargs)
    except NotFound:
        s.rollback()
        raise
    except ServiceError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("console.user", user_id=user_id)), 303
    s.commit()
    flash(done.format(email=user.email, role=user.role.replace("_", " ")), "success")
    if not current_user.can(Permission.ADMIN):  # an admin who gave up their own admin role
        return redirect(url_for("console.now")), 303
    return redirect(url_for("console.user", user_id=user_id)), 303
