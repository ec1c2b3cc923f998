"""Alert storms: one person gets at most `limit` SMS a minute; the rest wait and go out together
as one bundle ("5 more incidents for you. Reply aa to acknowledge all")."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from incidents.domain import page_text
from incidents.models import Page
from incidents.services import after_commit

WINDOW = timedelta(minutes=1)


def sent_recently(session: Session, *, address: str, now: datetime) -> tuple[int, datetime | None]:
    """(SMS messages sent to `address` in the last minute, when the oldest of them was sent).
    A bundle is one message however many pages it carried, so messages are counted by provider id."""
    row = session.execute(select(func.count(distinct(Page.provider_id)), func.min(Page.sent_at)).where(
        Page.channel == "sms", Page.address == address, Page.status == "sent",
        Page.sent_at > now - WINDOW)).one()
    return row[0], row[1]


def hold_if_over(session: Session, page: Page, *, limit: int, now: datetime) -> bool:
    """Hold a claimed SMS page when its person already had `limit` texts this minute."""
    if page.channel != "sms":
        return False
    count, oldest = sent_recently(session, address=page.address, now=now)
    if count < limit:
        return False
    page.status, page.deadline_at = "held", None
    page.attempts -= 1  # holding is not a failed attempt
    page.next_attempt_at = (oldest or now) + WINDOW
    return True


def release_due(session: Session, *, now: datetime) -> int:
    """Enqueue a bundle for every person whose held pages may go out now."""
    addresses = list(session.scalars(select(Page.address).where(
        Page.status == "held", Page.next_attempt_at <= now).distinct()))
    for address in addresses:
        after_commit.enqueue(session, "pages.bundle", address)
    return len(addresses)


def claim_bundle(session: Session, *, address: str, limit: int, now: datetime) -> list[Page]:
    """Held pages for `address` to send now as one message ([] when the minute is still full)."""
    held = list(session.scalars(select(Page).where(
        Page.address == address, Page.status == "held", Page.next_attempt_at <= now)
        .order_by(Page.id).with_for_update(skip_locked=True)))
    if not held:
        return []
    count, oldest = sent_recently(session, address=address, now=now)
    if count >= limit:
        for page in held:
            page.next_attempt_at = (oldest or now) + WINDOW
        return []
    for page in held:
        page.status, page.attempts, page.deadline_at = "sending", page.attempts + 1, now + timedelta(seconds=30)
    return held


def bundle_text(pages: list[Page]) -> str:
    return page_text.sms_bundle(len(pages), "a")
