"""Who is signed in to the console, for how long, and what they may do.

A session holds the user id with the user's session epoch: "sign out everywhere", a password
change, a 2FA reset or a deactivation bump the epoch, and every older session ends at its next
request. Idle and absolute timeouts are checked here too; background polls do not count as activity.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, logout_user

from incidents import clock
from incidents.domain.permissions import Permission, allows
from incidents.models import User
from incidents.services import audit
from incidents.services.accounts import passwords
from incidents.services.actor import Actor
from incidents.web.session import db_session

login_manager = LoginManager()
login_manager.session_protection = "basic"
login_manager.login_view = "console.login"
login_manager.login_message = None

# Reachable without a full sign-in: the sign-in steps themselves and the one-time links.
PUBLIC = frozenset({"console.login", "console.second_factor", "console.enrol", "console.logout",
                    "console.invite", "console.reset_request", "console.reset"})
# Reachable with a password that must be changed first.
PASSWORD_CHANGE = frozenset({"console.change_password", "console.logout"})
POLL_HEADER = "X-Vigil-Poll"


@dataclass
class ConsoleUser(UserMixin):
    user: User

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_epoch}"

    @property
    def is_active(self) -> bool:
        return self.user.active

    @property
    def role(self) -> str:
        return self.user.role

    def can(self, permission: Permission | str) -> bool:
        return allows(self.user.role, Permission(permission))


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    try:
        uid, epoch = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = db_session().get(User, uid)
    if user is None or not user.active or user.session_epoch != epoch or not user.totp_enrolled_at:
        return None
    return ConsoleUser(user)


def settings():
    return current_app.config["VIGIL"].console


def guard():
    """Before every console request: signed in, within the timeouts, password current."""
    if request.endpoint in PUBLIC or request.endpoint is None:
        return None
    if not current_user.is_authenticated:
        return _to_sign_in(None)
    now = clock.now().timestamp()
    console = settings()
    if now - session.get("seen", 0) > console.session_idle_minutes * 60:
        return _to_sign_in("You were signed out after a period of inactivity.")
    if now - session.get("auth_at", 0) > console.session_max_hours * 3600:
        return _to_sign_in("Your session reached its maximum length; sign in again.")
    if not request.headers.get(POLL_HEADER):
        session["seen"] = now
    if request.endpoint not in PASSWORD_CHANGE and passwords.must_change(
            current_user.user, max_age_days=console.password_max_age_days, now=clock.now()):
        flash("Your password has expired or must be changed; choose a new one.", "warning")
        return redirect(url_for("console.change_password"))
    return None


def start_session(user: User) -> None:
    from flask_login import login_user
    session.clear()  # a new session id's worth of state: nothing from before sign-in survives
    login_user(ConsoleUser(user), remember=False, fresh=True)
    now = clock.now().timestamp()
    session["auth_at"] = session["seen"] = now
    session.permanent = True


def _to_sign_in(message: str | None):
    if current_user.is_authenticated:
        logout_user()
    session.clear()
    if message:
        flash(message, "info")
    target = url_for("console.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):  # htmx: leave the page rather than swap a form into a fragment
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


def requires(permission: Permission):
    """The view needs this permission; a role without it gets 403, server side."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated or not current_user.can(permission):
                abort(403, description="Your role does not allow this.")
            return view(*args, **kwargs)
        return wrapper
    return decorate


def actor() -> Actor:
    user = current_user.user
    return Actor.user(user.id, user.email)


def where() -> audit.Where:
    return audit.Where("console", request.remote_addr)
