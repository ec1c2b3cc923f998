"""Notify customers of a breach: one notice per (run, purpose, channel, address), by e-mail and SMS.

A notice is inserted `pending` (its unique key makes a second insert a no-op), claimed as `sending`
and committed before the provider hears of it, then marked `sent` or `failed` with the reason. A row
still `sending` when the step runs again lost its worker mid-call: it becomes `uncertain` and is
never resent by the step, so nobody gets the same notice twice; an admin may resend it (`resend`).
The password-reset letters of the user_sessions step go through the same machinery.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from incidents.domain import playbook as rules
from incidents.domain.playbook import NoticeState
from incidents.models import Customer, Incident, PlaybookNotice, PlaybookRun, User
from incidents.providers.base import PermanentError, ProviderError, TemporaryError, UnknownOutcome
from incidents.providers.email import Mail, MailError
from incidents.services import audit
from incidents.services.actor import Actor
from incidents.services.errors import Conflict, NotFound
from incidents.services.playbook.rotators.base import Context, RotationError
from incidents.services.sql import insert_for

CUSTOMER_NOTICE, PASSWORD_RESET = "customer_notice", "password_reset"
EMAIL, SMS = "email", "sms"
DEFAULT_SUBJECT = "Security incident notice"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
INVALID = "invalid address"
LOST = "the worker stopped while sending; not resent so nobody gets it twice"
NO_SMTP = "SMTP is not configured (SMTP_URL)"
NO_SMS = "SMS is not configured (TWILIO_* settings)"
TRIES = 3  # a temporary failure is tried again within the step this many times in all
MAX_WAIT = 5.0  # seconds between tries, whatever the provider asks: the step must move on
UNIQUE = ["run_id", "purpose", "channel", "address"]
log = logging.getLogger(__name__)


class NotSendable(Exception):
    """A notice that cannot be composed any more (e.g. the account was deactivated meanwhile)."""


class NotifyCustomers:
    kind = rules.NOTIFY_CUSTOMERS

    def plan(self, ctx: Context) -> dict[str, Any]:
        run = ctx.session.get(PlaybookRun, ctx.run_id)
        scope = "drill" if ctx.drill else ctx.playbook.get("notify_customers", "all")
        people = recipients(ctx.session, run, ctx.playbook, scope)
        if not any(p["email"] or p["phone"] for p in people):
            raise RotationError("There is nobody to notify: no " + (
                "drill recipient" if ctx.drill else "customer contact") + " has an e-mail address or phone number.")
        return {"scope": scope, "recipients": people,
                "customers": len({p["customer_id"] for p in people if p["customer_id"] is not None})}

    def apply(self, ctx: Context, plan: dict[str, Any]) -> None:
        queue(ctx.session, run_id=ctx.run_id, step_id=ctx.step_id, purpose=CUSTOMER_NOTICE,
              recipients=plan["recipients"], now=ctx.now())
        deliver_pending(ctx, CUSTOMER_NOTICE)

    def verify(self, ctx: Context, plan: dict[str, Any]) -> str:
        rows = notices(ctx.session, run_id=ctx.run_id, purpose=CUSTOMER_NOTICE)
        if rows and not any(r.state in (NoticeState.SENT, NoticeState.UNCERTAIN) for r in rows):
            raise RotationError("No notice could be sent: " + failures(rows, NoticeState.FAILED))
        sent = {r.address for r in rows if r.state == NoticeState.SENT}
        people = plan["recipients"]
        reached = sum(1 for p in people if {p["email"], p["phone"]} & sent)
        who = (f"{_count(len(people), 'drill recipient')}" if plan["scope"] == "drill" else
               f"{len(people)} contacts of {_count(plan['customers'], 'customer')}")
        return f"Notified {reached} of {who}: " + tally(rows)


# --- who is told ---------------------------------------------------------------------------------

def recipients(session: Session, run: PlaybookRun, playbook: dict, scope: str) -> list[dict[str, Any]]:
    """Everyone to notify, with addresses as they will be stored (e-mails lower-cased)."""
    if scope == "drill":
        return [_drill_recipient(session, email) for email in (playbook.get("drill") or {}).get("recipients", [])]
    people = []
    for customer in _customers(session, run, scope):
        for contact in customer.contacts or []:
            if isinstance(contact, dict):
                people.append(_person(customer.id, contact.get("name") or customer.name,
                                      contact.get("email"), contact.get("phone")))
    return people


def _customers(session: Session, run: PlaybookRun, scope: str) -> list[Customer]:
    if scope != "affected":
        return list(session.scalars(select(Customer).order_by(Customer.id)))
    incident = session.get(Incident, run.incident_id) if run.incident_id else None
    customer_id = incident and (incident.customer_id or (incident.service.customer_id if incident.service else None))
    if not customer_id:
        raise RotationError("notify_customers is 'affected' but the incident names no customer; "
                            "set notify_customers: all, or skip this step with a reason.")
    return [session.get(Customer, customer_id)]


def _drill_recipient(session: Session, email: str) -> dict[str, Any]:
    user = session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()
    if user is None:
        return _person(None, email, email, None)
    return _person(None, user.name, user.email, user.phone)


def _person(customer_id: int | None, name: str, email: str | None, phone: str | None) -> dict[str, Any]:
    return {"customer_id": customer_id, "name": str(name)[:200], "email": _email(email),
            "phone": (str(phone).strip()[:320] or None) if phone else None}


def _email(address: str | None) -> str | None:
    if not address or not str(address).strip():
        return None
    try:
        return validate_email(str(address).strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return str(address).strip()[:320]  # kept as given: it fails with the reason when its turn comes


def address_problem(channel: str, address: str) -> str | None:
    """Why an address cannot be used, or None; checked before any provider is called."""
    if channel == SMS:
        return None if E164.fullmatch(address) else f"{address} is not an E.164 phone number like +15005550006"
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"{address}: {exc}"
    return None


# --- what they are told --------------------------------------------------------------------------

def notice_text(session: Session, notice: PlaybookNotice) -> tuple[str, str]:
    """(subject, text) of a customer's notice, from the template the run started with."""
    run = session.get(PlaybookRun, notice.run_id)
    incident = session.get(Incident, run.incident_id) if run.incident_id else None
    customer = session.get(Customer, notice.customer_id) if notice.customer_id else None
    values = dict(run.config.get("values") or {})
    values.update(customer=customer.name if customer else notice.recipient,
                  service=incident.service.name if incident and incident.service else "our service",
                  incident=f"#{incident.id}" if incident else "(drill)",
                  aware_at=f"{run.aware_at:%Y-%m-%d %H:%M} UTC")
    subject = run.config.get("subject") or DEFAULT_SUBJECT
    text = rules.render_notice(run.config.get("template") or "", values)
    if run.mode == rules.Mode.DRILL:
        subject, text = f"[Drill] {subject}", f"This is a drill of our breach playbook: nothing has happened.\n\n{text}"
    return subject, text


def compose(session: Session, notice: PlaybookNotice, *, extensions: dict, now: datetime) -> tuple[str, str]:
    if notice.purpose == PASSWORD_RESET:
        from incidents.services.playbook.rotators import sessions  # it uses this module's machinery
        return sessions.reset_letter(session, notice, public_url=extensions.get("public_url") or "", now=now)
    return notice_text(session, notice)


# --- the notices' life -----------------------------------------------------------------------------

def queue(session: Session, *, run_id: int, step_id: int, purpose: str, recipients: list[dict], now: datetime,
          chunk: int = 500) -> None:
    """A pending notice per address; addresses already noticed in this run are left as they are."""
    rows = [dict(run_id=run_id, step_id=step_id, purpose=purpose, customer_id=p.get("customer_id"),
                 recipient=p["name"], channel=channel, address=p[field], state=NoticeState.PENDING.value,
                 created_at=now)
            for p in recipients for channel, field in ((EMAIL, "email"), (SMS, "phone")) if p.get(field)]
    for start in range(0, len(rows), chunk):
        session.execute(insert_for(session)(PlaybookNotice).values(rows[start:start + chunk])
                        .on_conflict_do_nothing(index_elements=UNIQUE))
    session.flush()


def deliver_pending(ctx: Context, purpose: str) -> None:
    """Send this run's pending notices of `purpose`, committing before and after each provider call."""
    mine = PlaybookNotice.run_id == ctx.run_id, PlaybookNotice.purpose == purpose
    ctx.session.execute(update(PlaybookNotice).where(*mine, PlaybookNotice.state == NoticeState.SENDING.value)
                        .values(state=NoticeState.UNCERTAIN.value, reason=LOST))
    # Failed notices certainly did not arrive, so trying them again (SMTP set up since) sends nothing twice.
    ctx.session.execute(update(PlaybookNotice).where(
        *mine, PlaybookNotice.state == NoticeState.FAILED.value, PlaybookNotice.reason.not_like(f"{INVALID}%"))
        .values(state=NoticeState.PENDING.value, reason=None))
    _commit(ctx)
    ids = ctx.session.scalars(select(PlaybookNotice.id).where(
        *mine, PlaybookNotice.state == NoticeState.PENDING.value).order_by(PlaybookNotice.id)).all()
    for notice_id in ids:
        send_one(ctx.session, notice_id, extensions=ctx.extensions, now=ctx.now, commit=lambda: _commit(ctx))


def _commit(ctx: Context) -> None:
    ctx.save()  # the runner commits the session and renews the step's lease
    ctx.session.commit()  # and without a runner (or if it commits elsewhere) this commits our rows


def send_one(session: Session, notice_id: int, *, extensions: dict, now: Callable[[], datetime],
             commit: Callable[[], None]) -> None:
    """Send one pending notice: invalid addresses fail without a provider call; otherwise the row
    is committed as `sending` first, so a crash mid-call leaves it `sending` (then uncertain)."""
    notice = session.get(PlaybookNotice, notice_id)
    if notice is None or notice.state != NoticeState.PENDING:
        return
    problem = address_problem(notice.channel, notice.address)
    try:
        if problem:
            raise NotSendable(f"{INVALID}: {problem}")
        notice.state, notice.claimed_at, notice.reason = NoticeState.SENDING.value, now(), None
        subject, text = compose(session, notice, extensions=extensions, now=now())
    except NotSendable as exc:
        notice.state, notice.reason = NoticeState.FAILED.value, str(exc)
        commit()
        return
    commit()
    outcome = _deliver(notice.channel, notice.address, subject, text, extensions)
    notice.state, notice.reason, notice.provider_id = outcome.state, outcome.reason, outcome.provider_id
    if outcome.state == NoticeState.SENT:
        notice.sent_at = now()
    else:
        log.warning("playbook notice %s (%s): %s: %s", notice.id, notice.channel, outcome.state, outcome.reason)
    commit()


@dataclass(frozen=True)
class Outcome:
    state: str
    reason: str | None = None
    provider_id: str | None = None


def _deliver(channel: str, address: str, subject: str, text: str, extensions: dict) -> Outcome:
    for attempt in range(1, TRIES + 1):
        try:
            return Outcome(NoticeState.SENT.value, None, _call(channel, address, subject, text, extensions)[:255])
        except TemporaryError as exc:
            if attempt == TRIES:
                return Outcome(NoticeState.FAILED.value, f"gave up after {TRIES} tries: {exc.message}")
            time.sleep(min(exc.retry_after or attempt, MAX_WAIT))
        except PermanentError as exc:
            return Outcome(NoticeState.FAILED.value, exc.message)
        except UnknownOutcome as exc:
            return Outcome(NoticeState.UNCERTAIN.value, f"{exc.message}; not resent so nobody gets it twice")
    raise AssertionError("unreachable")


def _call(channel: str, address: str, subject: str, text: str, extensions: dict) -> str:
    """The provider's id of the sent message; base.py's three errors otherwise."""
    if channel == SMS:
        providers = extensions.get("providers")
        if providers is None or providers.sms is None:
            raise PermanentError(NO_SMS)
        return providers.sms.send(address, text).provider_id
    mailer = extensions.get("mailer")
    if mailer is None:
        raise PermanentError(NO_SMTP)
    try:
        return mailer.send(Mail(to=address, subject=subject, text=text))
    except MailError as exc:
        raise _mail_error(exc) from None


def _mail_error(exc: MailError) -> ProviderError:
    """An SMTP failure as base.py's classes: a reply code says refused (5xx) or later (4xx); without
    one, a failure while the message was on the wire may have delivered it."""
    if exc.code:
        return (TemporaryError if exc.code.startswith("4") else PermanentError)(exc.message, code=exc.code)
    if exc.message.startswith("bad message"):
        return PermanentError(exc.message)
    step = exc.message.split(": ", 2)[1] if exc.message.count(": ") >= 2 else ""
    return UnknownOutcome(exc.message) if step == "send" else TemporaryError(exc.message)


# --- reading and reporting ----------------------------------------------------------------------

def notices(session: Session, *, run_id: int, purpose: str | None = None) -> list[PlaybookNotice]:
    query = select(PlaybookNotice).where(PlaybookNotice.run_id == run_id)
    if purpose is not None:
        query = query.where(PlaybookNotice.purpose == purpose)
    return list(session.scalars(query.order_by(PlaybookNotice.id)))


def tally(rows: list[PlaybookNotice]) -> str:
    """'20 e-mails and 9 texts sent; 1 failed (…); 1 uncertain (…)'."""
    sent = [r for r in rows if r.state == NoticeState.SENT]
    emails = sum(1 for r in sent if r.channel == EMAIL)
    parts = [f"{_count(emails, 'e-mail')} and {_count(len(sent) - emails, 'text')} sent"]
    for state in (NoticeState.FAILED, NoticeState.UNCERTAIN, NoticeState.PENDING):
        count = sum(1 for r in rows if r.state == state)
        if count:
            parts.append(f"{count} {state.value} ({failures(rows, state)})")
    return "; ".join(parts)


def failures(rows: list[PlaybookNotice], state: str, limit: int = 3) -> str:
    bad = [r for r in rows if r.state == state]
    words = [_why(r.address, r.reason) for r in bad[:limit]]
    return "; ".join(words) + (f"; and {len(bad) - limit} more" if len(bad) > limit else "")


def _why(address: str, reason: str | None) -> str:
    reason = reason or "no reason recorded"
    if reason.startswith(INVALID):
        return f"bad address: {address}"
    return f"{address}: " + (reason if len(reason) <= 120 else reason[:117] + "...")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


# --- an admin's explicit resend -----------------------------------------------------------------

def resend(session: Session, *, notice_id: int, actor: Actor, now: datetime, extensions: dict,
           where: audit.Where | None = None) -> PlaybookNotice:
    """Send a failed or uncertain notice again, because an admin asked (it may arrive twice: their
    call). Commits: the notice is `sending` on disk before the provider is called."""
    notice = session.scalars(select(PlaybookNotice).where(PlaybookNotice.id == notice_id).with_for_update()
                             .execution_options(populate_existing=True)).first()  # as it is now, not as read
    if notice is None:
        raise NotFound(f"Notice {notice_id} does not exist.")
    if notice.state not in (NoticeState.FAILED, NoticeState.UNCERTAIN):
        raise Conflict(f"This notice is {notice.state}; only a failed or uncertain notice can be resent.")
    audit.record(session, actor=actor, where=where or audit.Where("console"), action="playbook.resend_notice",
                 target=f"{notice.channel} {notice.address}", now=now,
                 details={"run_id": notice.run_id, "notice_id": notice.id, "was": notice.state,
                          "reason": notice.reason})
    notice.state, notice.reason = NoticeState.PENDING.value, None
    send_one(session, notice.id, extensions=extensions, now=lambda: now, commit=session.commit)
    return notice
