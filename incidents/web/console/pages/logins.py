"""Sign-in records: every attempt, newest first, with who is being slowed down or locked out now.

The e-mail and user agent columns hold whatever a stranger typed or sent: they are shown as text
(autoescaped), never as markup.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import render_template, request
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain import lockout
from incidents.domain.permissions import Permission
from incidents.models import LoginRecord
from incidents.services.accounts import login
from incidents.web.console import bp
from incidents.web.console.guard import requires
from incidents.web.console.pages.logins_forms import LoginFilter, cursor, parse_cursor
from incidents.web.console.templating import render_error
from incidents.web.session import db_session

PAGE = 50
CANDIDATES = 200  # e-mails or addresses checked for a current lock-out (the most recent first)
OUTCOME_WORDS = {
    login.Outcome.SUCCESS: "signed in",
    login.Outcome.BAD_PASSWORD: "wrong password",
    login.Outcome.UNKNOWN_USER: "unknown e-mail",
    login.Outcome.INACTIVE: "deactivated account",
    login.Outcome.BAD_SECOND_FACTOR: "wrong second-factor code",
    login.Outcome.THROTTLED: "refused: too many failures",
}


@dataclass(frozen=True)
class Held:
    """An e-mail or address that must wait before its next sign-in attempt."""

    kind: str  # "e-mail" | "address"
    value: str
    wait: timedelta
    locked: bool


@bp.get("/logins", endpoint="logins")
@requires(Permission.ADMIN)
def logins_page():
    form = LoginFilter(request.args)
    if not form.validate():
        field, messages = next(iter(form.errors.items()))
        return render_error(400, f"{getattr(form, field).label.text}: {messages[0]}")
    s = db_session()
    now = clock.now()
    rows = s.scalars(_query(form).limit(PAGE + 1)).all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    next_cursor = cursor(rows[-1].at, rows[-1].id) if more else None
    return render_template("console/logins.html", form=form, rows=rows, words=OUTCOME_WORDS, args=args,
                           next_cursor=next_cursor, paged=bool(form.before.data),
                           failures_24h=_failures_since(s, now - timedelta(hours=24)), held=_held(s, now),
                           describe=lockout.describe)


def _query(form: LoginFilter):
    query = select(LoginRecord).order_by(LoginRecord.at.desc(), LoginRecord.id.desc())
    if form.email.data:
        query = query.where(LoginRecord.email == login.normal_email(form.email.data))
    if form.ip.data:
        query = query.where(LoginRecord.ip == form.ip.data.strip())
    outcome = form.outcome.data
    if outcome == "success":
        query = query.where(LoginRecord.success.is_(True))
    elif outcome == "failures":
        query = query.where(LoginRecord.outcome.in_([o.value for o in login.COUNTED]))
    elif outcome == "throttled":
        query = query.where(LoginRecord.outcome == login.Outcome.THROTTLED.value)
    after = parse_cursor(form.before.data)
    if after is not None:
        at, row_id = after
        query = query.where(or_(LoginRecord.at < at, and_(LoginRecord.at == at, LoginRecord.id < row_id)))
    return query


def _failures_since(session: Session, since) -> int:
    return session.scalar(select(func.count()).select_from(LoginRecord).where(
        LoginRecord.at > since, LoginRecord.outcome.in_([o.value for o in login.COUNTED]))) or 0


def _held(session: Session, now) -> list[Held]:
    """Who is slowed down or locked out right now, by the same rules the sign-in form applies."""
    since = now - login.POLICY.window - login.POLICY.lock_for
    recent_failures = and_(LoginRecord.at > since, LoginRecord.outcome.in_([o.value for o in login.COUNTED]))
    # login's own wait functions, so this page cannot disagree with what the sign-in form does.
    checks = (
        ("e-mail", LoginRecord.email, login.POLICY,
         lambda value: login.account_wait(session, login.Attempt(email=value, ip="", user_agent="", now=now))),
        ("address", LoginRecord.ip, login.IP_POLICY,
         lambda value: login.ip_wait(session, login.Attempt(email="", ip=value, user_agent="", now=now))),
    )
    held = []
    for kind, column, policy, wait_for in checks:
        recent = (select(column).where(recent_failures).group_by(column)
                  .order_by(func.max(LoginRecord.at).desc()).limit(CANDIDATES))
        for value in session.scalars(recent):
            left = wait_for(value)
            if left > timedelta(0):
                held.append(Held(kind, value, left, locked=left > policy.max_delay))
    return sorted(held, key=lambda h: -h.wait)
