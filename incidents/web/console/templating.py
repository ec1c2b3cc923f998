"""What every console template can use: the signed-in user's permissions, navigation, time filters."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, render_template, request
from flask_login import current_user

from incidents import clock
from incidents.domain.permissions import Permission

# (endpoint, label, permission needed to see it in the menu)
NAV = [
    ("console.now", "Now", Permission.VIEW),
    ("console.incidents", "Incidents", Permission.VIEW),
    ("console.triage", "Triage", Permission.VIEW),
    ("console.oncall", "On call", Permission.VIEW),
    ("console.policies", "Escalation", Permission.VIEW),
    ("console.services", "Services", Permission.VIEW),
    ("console.customers", "Customers", Permission.VIEW),
    ("console.users", "Users", Permission.ADMIN),
    ("console.api_keys", "API keys", Permission.ADMIN),
    ("console.logins", "Sign-ins", Permission.ADMIN),
    ("console.audit", "Audit", Permission.ADMIN),
    ("console.playbook", "Breach playbook", Permission.ADMIN),
    ("console.reports", "Reports", Permission.VIEW),
]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(when=when, ago=ago, duration=duration, iso=iso)
    # A global, not only the context's `now`: macros imported without context need the time too.
    app.jinja_env.globals["clock_now"] = clock.now

    @app.context_processor
    def console_globals():
        if request.blueprint != "console":
            return {}
        signed_in = current_user.is_authenticated
        nav = [(endpoint, label) for endpoint, label, permission in NAV
               if signed_in and current_user.can(permission) and endpoint in app.view_functions]
        return {"nav": nav, "P": Permission, "can": (lambda p: signed_in and current_user.can(p)),
                "me": current_user.user if signed_in else None, "now": clock.now()}


def render_error(status: int, message: str):
    """The console's error page (the API and webhooks answer JSON instead)."""
    return render_template("console/error.html", status=status, message=message), status


def iso(at: datetime | None) -> str:
    return at.isoformat() if at else ""


def when(at: datetime | None) -> str:
    """UTC time, written the same way everywhere in the console."""
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


def ago(at: datetime | None) -> str:
    if at is None:
        return "—"
    delta = clock.now() - at
    return f"{duration(delta)} ago" if delta >= timedelta(0) else f"in {duration(delta)}"
