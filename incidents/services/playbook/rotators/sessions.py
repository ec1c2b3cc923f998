"""End every console session, require new passwords, and e-mail each account a reset link.

Sessions end by bumping every active user's session_epoch (older sessions stop at their next
request); accounts with a password must choose a new one at their next sign-in. Both happen in one
transaction with the checkpoint that says so. Each reset letter is a PlaybookNotice (purpose
password_reset), so a resumed step never mails anyone twice (see notify.py); its one-time link is
issued in the same transaction that marks the letter `sending`, and exists nowhere else but the
letter. In drill mode nothing changes: the plan is the report.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain import playbook as rules
from incidents.domain.playbook import NoticeState
from incidents.models import PlaybookNotice, User
from incidents.services import audit
from incidents.services.accounts import users
from incidents.services.accounts.tokens import LIFETIME
from incidents.services.actor import Actor
from incidents.services.playbook import notify
from incidents.services.playbook.rotators.base import Context, RotationError

WHERE = audit.Where("system")
RESET_PATH = "/reset/"  # the console's one-time reset page (incidents/web/console/signin.py)
SUBJECT = "Vigil: choose a new password (security incident)"


class UserSessions:
    kind = rules.USER_SESSIONS

    def plan(self, ctx: Context) -> dict[str, Any]:
        rows = ctx.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
        return {"users": [{"id": u.id, "email": u.email, "name": u.name, "epoch": u.session_epoch,
                           "password": u.password_hash is not None} for u in rows]}

    def apply(self, ctx: Context, plan: dict[str, Any]) -> None:
        if ctx.drill:
            return
        if not ctx.checkpoint.get("sessions_ended"):
            _end_sessions(ctx, plan["users"])
            ctx.save(sessions_ended=True)  # with the epochs, in one commit
            ctx.session.commit()
        if plan["users"] and not ctx.extensions.get("public_url"):
            raise RotationError("Sessions ended, but PUBLIC_URL is not set, so no reset link can be made; "
                                "set it and retry this step.")
        letters = [{"customer_id": None, "name": u["name"], "email": u["email"], "phone": None}
                   for u in plan["users"] if u["password"]]
        notify.queue(ctx.session, run_id=ctx.run_id, step_id=ctx.step_id, purpose=notify.PASSWORD_RESET,
                     recipients=letters, now=ctx.now())
        notify.deliver_pending(ctx, notify.PASSWORD_RESET)

    def verify(self, ctx: Context, plan: dict[str, Any]) -> str:
        people = plan["users"]
        with_password = sum(1 for u in people if u["password"])
        if ctx.drill:
            whose = "1 user's" if len(people) == 1 else f"{len(people)} users'"
            return (f"drill: would end {whose} sessions, require "
                    f"{_count(with_password, 'new password')} and e-mail {_count(with_password, 'reset link')} "
                    "(nothing changed)")
        for u in people:
            row = ctx.session.get(User, u["id"])
            if row is not None and row.session_epoch <= u["epoch"]:
                raise RotationError(f"{u['email']}'s sessions were not ended.")
        rows = notify.notices(ctx.session, run_id=ctx.run_id, purpose=notify.PASSWORD_RESET)
        sent = sum(1 for r in rows if r.state == NoticeState.SENT)
        summary = (f"Ended the sessions of {_count(len(people), 'user')}; {with_password} must choose a new "
                   f"password; {_count(sent, 'reset link')} e-mailed")
        trouble = [f"{n} {state.value} ({notify.failures(rows, state)})"
                   for state in (NoticeState.FAILED, NoticeState.UNCERTAIN)
                   if (n := sum(1 for r in rows if r.state == state))]
        return "; ".join([summary, *trouble])


def _end_sessions(ctx: Context, people: list[dict[str, Any]]) -> None:
    actor, now = Actor(ctx.actor), ctx.now()
    for u in people:
        user = ctx.session.get(User, u["id"])
        if user is None:
            continue
        user.session_epoch += 1
        user.must_change_password = user.must_change_password or user.password_hash is not None
        audit.record(ctx.session, actor=actor, where=WHERE, action="user.end_sessions_for_breach",
                     target=user.email, now=now,
                     details={"run_id": ctx.run_id, "must_change_password": user.must_change_password})


def reset_letter(session: Session, notice: PlaybookNotice, *, public_url: str, now: datetime) -> tuple[str, str]:
    """(subject, text) of one reset letter, with a fresh one-time link (earlier links stop working)."""
    found = users.request_reset(session, email=notice.address, now=now)
    if found is None:
        raise notify.NotSendable("the account is no longer active or has no password")
    if not public_url:
        raise notify.NotSendable("PUBLIC_URL is not set, so no reset link can be made")
    user, token = found
    link = public_url.rstrip("/") + RESET_PATH + token
    minutes = int(LIFETIME["reset"].total_seconds() // 60)
    return SUBJECT, (
        f"Hello {user.name},\n\nBecause of a security incident we have signed everyone out of Vigil, and every "
        "account must choose a new password.\n\n"
        f"Choose yours here (the link works once, for {minutes} minutes):\n{link}\n\n"
        f"If it has expired, ask for a new one at {public_url.rstrip('/')}{RESET_PATH.rstrip('/')}. "
        "Until you choose a new password, Vigil asks for one when you sign in.\n")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
