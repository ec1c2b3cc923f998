"""A page's delivery: pending → sending (with a deadline) → sent | failed | unknown.

The provider is called outside any transaction: the row is claimed and committed as `sending`
first, so a worker that dies mid-call leaves a row whose deadline passes and the sweep sends it
again. That is the one window where a page can go out twice: the provider accepted it and the
process died before recording it. A call whose outcome cannot be known (a read timeout after the
request went out) is marked `unknown` and never resent in a loop.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from incidents.domain.enums import Source
from incidents.models import Page, User
from incidents.services import after_commit, timeline
from incidents.services.actor import Actor
from incidents.services.engine import outbox, storms

SENDING_DEADLINE = timedelta(seconds=30)  # longer than any provider timeout
MAX_ATTEMPTS = 6
LOST_AFTER = timedelta(seconds=10)  # a pending row this late was not picked up: its task was lost
CHANNEL_NAMES = outbox.CHANNEL_NAMES


def claim(session, *, page_id: int, now: datetime) -> Page | None:
    """Take a due pending page for sending; None when it is not ours to send (any more)."""
    page = session.scalars(select(Page).where(Page.id == page_id).with_for_update(skip_locked=True)).first()
    if page is None or page.status != "pending" or (page.next_attempt_at and page.next_attempt_at > now):
        return None
    page.status, page.attempts, page.deadline_at = "sending", page.attempts + 1, now + SENDING_DEADLINE
    return page


def mark_sent(session, *, page_id: int, provider_id: str | None, thread: str | None, now: datetime) -> None:
    page = session.get(Page, page_id, with_for_update=True)
    page.status, page.provider_id, page.sent_at, page.deadline_at = "sent", provider_id, now, None
    page.thread = thread or page.thread
    page.error = None
    _event(session, page, "page_sent", f"{CHANNEL_NAMES[page.channel]} page to {_who(session, page)} sent")


def mark_retry(session, *, page_id: int, error: str, retry_after: float | None, now: datetime) -> None:
    """A temporary failure: try again later with backoff, or give up after MAX_ATTEMPTS."""
    page = session.get(Page, page_id, with_for_update=True)
    if page.attempts >= MAX_ATTEMPTS:
        mark_failed(session, page_id=page_id, error=f"gave up after {page.attempts} attempts: {error}", now=now)
        return
    delay = retry_after if retry_after is not None else min(2 ** page.attempts, 300)
    page.status, page.error, page.deadline_at = "pending", error, None
    page.next_attempt_at = now + timedelta(seconds=delay)


def mark_failed(session, *, page_id: int, error: str, now: datetime) -> int | None:
    """A permanent failure: on the timeline, and the person's next channel takes over."""
    page = session.get(Page, page_id, with_for_update=True)
    page.status, page.error, page.deadline_at, page.next_attempt_at = "failed", error, None, None
    fallback = outbox.add_fallback(session, failed=page, now=now)
    then = f"; trying {CHANNEL_NAMES[session.get(Page, fallback).channel]} instead" if fallback else ""
    _event(session, page, "page_failed",
           f"{CHANNEL_NAMES[page.channel]} page to {_who(session, page)} failed: {error}{then}")
    return fallback


def mark_unknown(session, *, page_id: int, error: str, now: datetime) -> None:
    page = session.get(Page, page_id, with_for_update=True)
    page.status, page.error, page.deadline_at, page.next_attempt_at = "unknown", error, None, None
    _event(session, page, "page_unknown",
           f"{CHANNEL_NAMES[page.channel]} page to {_who(session, page)}: the provider may or may not have "
           f"it ({error}); not resent, to avoid a double page")


def sweep(session, *, now: datetime) -> int:
    """Re-find work whose message was lost: overdue `sending` rows go back to pending, and every
    pending row that is due but was not picked up is enqueued again."""
    session.execute(update(Page).where(Page.status == "sending", Page.deadline_at < now)
                    .values(status="pending", next_attempt_at=now, deadline_at=None,
                            error="the worker stopped while sending; sending again")
                    .execution_options(synchronize_session=False))
    # A pending row's deadline_at is when the doorbell rung for it may be taken as lost: without
    # it every tick rang again for every late row, and a backlog (after a broker restart, or a
    # worker falling 10 s behind) flooded the queue with duplicates faster than any worker drained it.
    not_rung = or_(Page.deadline_at.is_(None), Page.deadline_at <= now)
    due = list(session.scalars(select(Page.id).where(
        Page.status == "pending", Page.next_attempt_at <= now - LOST_AFTER, not_rung).limit(500)))
    retries = list(session.scalars(select(Page.id).where(
        Page.status == "pending", Page.next_attempt_at <= now, Page.attempts > 0,
        Page.next_attempt_at > now - LOST_AFTER, not_rung).limit(500)))
    if due or retries:
        session.execute(update(Page).where(Page.id.in_(due + retries)).values(deadline_at=now + LOST_AFTER)
                        .execution_options(synchronize_session=False))
    for page_id in due + retries:
        after_commit.enqueue(session, "pages.deliver", page_id)
    return len(due) + len(retries) + storms.release_due(session, now=now)


def _who(session, page: Page) -> str:
    return page.address if page.user_id is None else session.get(User, page.user_id).name


def _event(session, page: Page, kind: str, message: str) -> None:
    timeline.record(session, incident_id=page.incident_id, kind=kind, actor=Actor.system(),
                    source=Source.SYSTEM, message=message,
                    data={"page_id": page.id, "channel": page.channel, "step": page.step,
                          "cycle": page.cycle, "status": page.status})
