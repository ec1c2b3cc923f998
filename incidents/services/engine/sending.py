"""Sending one page: claim it, call the provider outside any transaction, record what happened."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain import page_text
from incidents.models import Incident, Page, Setting, User
from incidents.providers.base import (ChatSender, PermanentError, SmsSender, TemporaryError,
                                      UnknownOutcome)
from incidents.services.engine import deliveries, storms
from incidents.services import timeline
from incidents.services.actor import Actor
from incidents.domain.enums import Source

STATUS_PATH = "/webhooks/twilio/status"
DEFAULT_CHANNEL = "default"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Providers:
    sms: SmsSender | None
    chat: ChatSender | None
    public_url: str
    sms_per_minute: int = 3  # per person; more pages in a minute wait and go out as one bundle
    slack_channel: str | None = None  # SLACK_CHANNEL: where a `slack:default` target posts


@dataclass(frozen=True)
class Message:
    """What one page says, composed while the row is claimed."""

    channel: str
    address: str
    sms: str | None = None
    slack: tuple[str, list] | None = None


def deliver(session: Session, *, page_id: int, providers: Providers, now: Callable[[], datetime]) -> str:
    """Send page `page_id` if it is due and still ours; returns its status afterwards."""
    page = deliveries.claim(session, page_id=page_id, now=now())
    if page is None:
        session.rollback()
        return "skipped"
    if storms.hold_if_over(session, page, limit=providers.sms_per_minute, now=now()):
        session.commit()
        return "held"
    message = compose(session, page, providers.public_url, now=now())
    session.commit()  # `sending` with a deadline is on disk before the provider hears of it
    _send_and_record(session, [page_id], lambda: _send(message, providers), now)
    return session.get(Page, page_id).status


def _send_and_record(session: Session, page_ids: list[int], send: Callable[[], tuple[str | None, str | None]],
                     now: Callable[[], datetime]) -> bool:
    """Call the provider once for `page_ids` (one message) and record the outcome on each row."""
    try:
        provider_id, thread = send()
    except TemporaryError as exc:
        for page_id in page_ids:
            deliveries.mark_retry(session, page_id=page_id, error=exc.message, retry_after=exc.retry_after,
                                  now=now())
    except PermanentError as exc:
        for page_id in page_ids:
            deliveries.mark_failed(session, page_id=page_id, error=exc.message, now=now())
    except UnknownOutcome as exc:
        for page_id in page_ids:
            deliveries.mark_unknown(session, page_id=page_id, error=exc.message, now=now())
    else:
        for page_id in page_ids:
            deliveries.mark_sent(session, page_id=page_id, provider_id=provider_id, thread=thread, now=now())
        session.commit()
        return True
    session.commit()
    return False


def deliver_bundle(session: Session, *, address: str, providers: Providers,
                   now: Callable[[], datetime]) -> int:
    """Send the pages held back for one number as a single SMS; returns how many it carried."""
    pages = storms.claim_bundle(session, address=address, limit=providers.sms_per_minute, now=now())
    ids = [p.id for p in pages]
    session.commit()
    if not ids:
        return 0
    text = storms.bundle_text(pages)

    def send():
        if providers.sms is None:
            raise PermanentError("SMS is not configured (TWILIO_* settings)")
        return providers.sms.send(address, text, status_callback=providers.public_url + STATUS_PATH).provider_id, None

    if _send_and_record(session, ids, send, now):
        for page_id in ids:
            timeline.record(session, incident_id=session.get(Page, page_id).incident_id, kind="page_bundled",
                            actor=Actor.system(), source=Source.SYSTEM,
                            message=f"Alert storm: sent in one SMS with {len(ids) - 1} other pages")
        session.commit()
    return len(ids)


def compose(session: Session, page: Page, public_url: str, *, now: datetime) -> Message:
    incident = session.get(Incident, page.incident_id)
    user = session.get(User, page.user_id) if page.user_id else None
    due = _local_time(session, incident.response_due_at, user, now=now)
    customer = incident.customer.slug if incident.customer else None
    if page.channel == "sms":
        text = page_text.sms_page(incident.id, incident.severity_class, incident.title, customer,
                                  due, page.code or "", lead=page_text.lead(page.step))
        return Message("sms", page.address, sms=text)
    blocks = page_text.slack_page_blocks(
        incident_id=incident.id, number=incident.id, severity_class=incident.severity_class,
        title=incident.title, customer=customer, due=due, status=incident.status,
        lead=page_text.lead(page.step))
    return Message("slack", page.address, slack=blocks)


def _send(message: Message, providers: Providers) -> tuple[str | None, str | None]:
    """(provider id, thread) of what was sent."""
    if message.channel == "sms":
        if providers.sms is None:
            raise PermanentError("SMS is not configured (TWILIO_* settings)")
        sent = providers.sms.send(message.address, message.sms,
                                  status_callback=providers.public_url + STATUS_PATH)
        return sent.provider_id, None
    if providers.chat is None:
        raise PermanentError("Slack is not configured (SLACK_* settings)")
    text, blocks = message.slack
    channel = message.address
    if channel == DEFAULT_CHANNEL:
        if not providers.slack_channel:
            raise PermanentError("a step targets slack:default but SLACK_CHANNEL is not set")
        channel = providers.slack_channel
    posted = providers.chat.post(channel, text, blocks)
    return posted.ts, f"{posted.channel}|{posted.ts}"


def _local_time(session: Session, at: datetime, user: User | None, *, now: datetime | None = None) -> str:
    """A time as the person reads it: their timezone, else the installation's, else UTC; with the
    weekday when it is not today ("Wed 10:30 GMT")."""
    name = (user.timezone if user and user.timezone else None)
    if name is None:
        setting = session.get(Setting, "timezone")
        name = setting.value.get("name") if setting and setting.value else "UTC"
    zone = ZoneInfo(name)
    local = at.astimezone(zone)
    day = "" if now is None or now.astimezone(zone).date() == local.date() else f"{local:%a} "
    return f"{day}{local:%H:%M} {local.tzname()}"


def refresh_slack(session: Session, *, incident_id: int, providers: Providers) -> float | None:
    """Bring every Slack page of an incident up to date (who acknowledged or resolved, when).

    Returns None when done, or the seconds to wait before trying again when Slack asked us to
    slow down (rate limits); a page that Slack refuses for good is logged and left as it is.
    """
    if providers.chat is None:
        return None
    incident = session.get(Incident, incident_id)
    pages = session.scalars(select(Page).where(Page.incident_id == incident_id, Page.channel == "slack",
                                               Page.status == "sent", Page.thread.is_not(None)))
    retry_after = None
    for page in pages:
        user = session.get(User, page.user_id) if page.user_id else None
        text, blocks = page_text.slack_page_blocks(
            incident_id=incident.id, number=incident.id, severity_class=incident.severity_class,
            title=incident.title, customer=incident.customer.slug if incident.customer else None,
            due=_local_time(session, incident.response_due_at, user), status=incident.status,
            acknowledged=_stamp(session, incident.acknowledged_by, incident.acknowledged_at, user),
            resolved=_stamp(session, incident.resolved_by, incident.resolved_at, user),
            lead=page_text.lead(page.step))
        channel, ts = page.thread.split("|", 1)
        try:
            providers.chat.update(channel, ts, text, blocks)
        except TemporaryError as exc:  # chat.update is safe to repeat: try the whole set again
            retry_after = max(retry_after or 1.0, exc.retry_after or 1.0)
        except (PermanentError, UnknownOutcome) as exc:
            log.warning("could not update Slack page %s: %s", page.id, exc.message)
    return retry_after


def _stamp(session: Session, who: str | None, at: datetime | None, reader: User | None):
    if not who or not at:
        return None
    return page_text.Stamp(who=who, at=_local_time(session, at, reader))
