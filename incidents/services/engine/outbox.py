"""Writing pages to the outbox: one row per (incident, step, cycle, recipient, channel).

The unique key makes a second page for the same thing impossible at the database, whoever runs
the step twice (two workers, a retried task, a replayed tick).
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Sequence

from sqlalchemy import select, update

from incidents.domain.enums import Source, Status
from incidents.domain.escalation import Recipient
from incidents.models import Incident, Page, User
from incidents.services import after_commit, timeline
from incidents.services.actor import Actor
from incidents.services.sql import insert_for

# No vowels (no words), and none of the reply verbs a, r, e: "k4a" reads as code k4 + ack.
CODE_ALPHABET = "23456789bcdfghjkmnpqstvwxz"
CODE_LENGTH = 2
CHANNEL_NAMES = {"sms": "SMS", "slack": "Slack"}


def page(session, *, incident: Incident, step: int, cycle: int, recipients: Sequence[Recipient],
         channels: Sequence[str], now: datetime) -> list[int]:
    """Outbox rows for every recipient on every channel they can be reached by; returns new ids."""
    created: list[int] = []
    for recipient in recipients:
        addresses = _addresses(session, recipient)
        reachable = [c for c in channels if addresses.get(c)]
        code = reply_code(session, incident.id, recipient.user_id) if recipient.user_id else None
        for channel in reachable:
            page_id = _insert(session, incident.id, step, cycle, recipient, channel,
                              addresses[channel], code if channel == "sms" else None, now)
            if page_id:
                created.append(page_id)
        _record(session, incident, step, cycle, recipient, reachable)
    for page_id in created:
        after_commit.enqueue(session, "pages.deliver", page_id)
    return created


def add_fallback(session, *, failed: Page, now: datetime) -> int | None:
    """After a permanent failure, the same person on a channel not yet tried for this step."""
    if failed.user_id is None:
        return None
    user = session.get(User, failed.user_id)
    tried = set(session.scalars(select(Page.channel).where(
        Page.incident_id == failed.incident_id, Page.step == failed.step, Page.cycle == failed.cycle,
        Page.recipient == failed.recipient)))
    for channel, address in user_addresses(user).items():
        if address and channel not in tried:
            code = failed.code or reply_code(session, failed.incident_id, user.id)
            recipient = Recipient(failed.recipient, user.id, user.name)
            page_id = _insert(session, failed.incident_id, failed.step, failed.cycle, recipient,
                              channel, address, code if channel == "sms" else None, now)
            if page_id:
                after_commit.enqueue(session, "pages.deliver", page_id)
            return page_id
    return None


def cancel_unsent(session, *, incident_id: int, reason: str, now: datetime) -> int:
    result = session.execute(update(Page).where(Page.incident_id == incident_id,
                                                Page.status.in_(("pending", "held")))
                             .values(status="cancelled", error=reason, next_attempt_at=None)
                             .execution_options(synchronize_session=False))
    return result.rowcount


def reply_code(session, incident_id: int, user_id: int) -> str:
    """The short code a person replies with: the same for all their pages of one incident,
    different from the codes of their other open incidents."""
    existing = session.scalar(select(Page.code).where(
        Page.incident_id == incident_id, Page.user_id == user_id, Page.code.is_not(None)).limit(1))
    if existing:
        return existing
    taken = set(session.scalars(select(Page.code).join(Incident, Incident.id == Page.incident_id).where(
        Page.user_id == user_id, Page.code.is_not(None), Incident.status != Status.RESOLVED)))
    length = CODE_LENGTH
    while True:
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
            if code not in taken:
                return code
        length += 1  # this person has very many open incidents: make the space larger


def user_addresses(user: User) -> dict[str, str | None]:
    if not user.active:
        return {}
    return {"sms": user.phone if user.phone and not user.sms_opted_out else None,
            "slack": user.slack_user_id}


def _addresses(session, recipient: Recipient) -> dict[str, str | None]:
    if recipient.user_id is None:  # a Slack channel
        return {"slack": recipient.key.split(":", 1)[1]}
    return user_addresses(session.get(User, recipient.user_id))


def _insert(session, incident_id, step, cycle, recipient: Recipient, channel, address, code, now) -> int | None:
    insert = insert_for(session)
    statement = insert(Page).values(
        incident_id=incident_id, step=step, cycle=cycle, user_id=recipient.user_id,
        recipient=recipient.key, channel=channel, address=address, code=code, status="pending",
        attempts=0, next_attempt_at=now, created_at=now,
    ).on_conflict_do_nothing(index_elements=["incident_id", "step", "cycle", "recipient", "channel"])
    return session.execute(statement.returning(Page.id)).scalar()


def _record(session, incident, step, cycle, recipient, reachable) -> None:
    where = f"step {step + 1}" + (f", round {cycle + 1}" if cycle else "")
    if reachable:
        how = " and ".join(CHANNEL_NAMES[c] for c in reachable)
        kind, message = "paged", f"Paging {recipient.label} by {how} ({where})"
    else:
        kind, message = "unreachable", f"Cannot page {recipient.label}: no usable phone or Slack id ({where})"
    timeline.record(session, incident_id=incident.id, kind=kind, actor=Actor.system(),
                    source=Source.SYSTEM, message=message,
                    data={"step": step, "cycle": cycle, "recipient": recipient.key, "channels": list(reachable)})
