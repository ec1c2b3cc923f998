"""What an SMS reply from on-call staff does (grammar in incidents.domain.replies)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain import replies
from incidents.domain.enums import Source, Status
from incidents.models import InboundMessage, Incident, Page, User
from incidents.services import after_commit, responses
from incidents.services.errors import ServiceError
from incidents.services.sql import insert_for


def first_time(session: Session, *, sid: str, now: datetime) -> bool:
    """Record a MessageSid; False when it was handled before (Twilio redelivers on timeouts)."""
    statement = insert_for(session)(InboundMessage).values(sid=sid, received_at=now)
    return session.execute(statement.on_conflict_do_nothing().returning(InboundMessage.sid)).scalar() is not None


def handle(session: Session, *, phone: str, text: str) -> str | None:
    """Act on one reply; the answer to text back (None: say nothing)."""
    reply = replies.parse(text)
    user = session.scalars(select(User).where(User.phone == phone)).first()
    if reply.verb in ("stop", "start"):
        if user is not None:
            user.sms_opted_out = reply.verb == "stop"
        # Twilio answers STOP itself; START gets a word from us so people know pages resume.
        return "Vigil pages by SMS are on again." if reply.verb == "start" and user else None
    if reply.verb in ("help", "unknown"):
        return replies.help_text()
    try:
        user = responses.responder_by_phone(session, phone)
        if reply.verb == "ack_all":
            return _ack_all(session, user)
        page = _page_for(session, user, reply.code)
        incident = responses.act(session, verb=reply.verb, incident_id=page.incident_id, user=user,
                                 source=Source.SMS)
    except ServiceError as exc:
        return f"Vigil: {exc.message}"
    after_commit.enqueue(session, "pages.refresh", incident.id)
    return f"#{incident.id} {responses.PAST[reply.verb]}"


def _page_for(session: Session, user: User, code: str | None) -> Page:
    query = select(Page).where(Page.user_id == user.id, Page.channel == "sms")
    if code:
        query = query.where(Page.code == code)
    page = session.scalars(query.order_by(Page.id.desc()).limit(1)).first()
    if page is None:
        raise _NoPage(f"no page with code {code} for you" if code else "no page to answer")
    return page


def _ack_all(session: Session, user: User) -> str:
    ids = list(session.scalars(select(Incident.id).join(Page, Page.incident_id == Incident.id).where(
        Page.user_id == user.id, Incident.status == Status.TRIGGERED).distinct().order_by(Incident.id)))
    for incident_id in ids:
        responses.act(session, verb="ack", incident_id=incident_id, user=user, source=Source.SMS)
        after_commit.enqueue(session, "pages.refresh", incident_id)
    if not ids:
        return "Vigil: nothing waiting for you"
    return f"{len(ids)} acknowledged: " + ", ".join(f"#{i}" for i in ids[:10]) + (" …" if len(ids) > 10 else "")


class _NoPage(ServiceError):
    code = "not_found"
    status = 404
