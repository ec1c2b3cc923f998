"""The engine watching itself: a heartbeat, its lag, and a page to the admins when it falls behind.

Two alarms share one path that does not go through the outbox (which may be what is stuck):
- the tick measures its own lag, how long the oldest work it left behind has been overdue (an
  escalation step, an SLA check, a page waiting for a worker), and alarms past LAG_LIMIT;
- a separate beat task (`engine.watchdog`, on the default queue) alarms when the tick itself has
  not run for LAG_LIMIT: a wedged or unconsumed tick measures nothing.

The alarm goes straight to the providers: an SMS to each admin's phone and a Slack message to each
admin's Slack user, at most once per REPAGE_AFTER (remembered in the setting ALARM_SETTING, claimed
under its row lock and committed before sending, so two workers never both page).

Work counts as left behind only when it was already due at the tick before (the last heartbeat):
work that fell due since then is the tick's ordinary business, however far a test moves the clock.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.domain.enums import Role, Status
from incidents.models import Escalation, Incident, Page, Setting, User
from incidents.providers.base import ProviderError
from incidents.services.sql import insert_for

HEARTBEAT_SETTING = "engine.heartbeat"  # {"at": when the tick last ran (written at most every BEAT_EVERY)}
ALARM_SETTING = "engine.alarm"  # {"paged_at", "reason", "watching_since", "checked_at"}
BEAT_EVERY = timedelta(seconds=10)
LAG_LIMIT = timedelta(seconds=60)
REPAGE_AFTER = timedelta(minutes=15)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alarm:
    reason: str  # "lag" | "tick"
    behind: timedelta

    def text(self, public_url: str) -> str:
        minutes = max(1, round(self.behind.total_seconds() / 60))
        if self.reason == "tick":
            what = f"Vigil ALERT: the engine tick has not run for {minutes} min"
            hint = "check the Celery beat and the workers on the engine queue"
        else:
            what = f"Vigil ALERT: the engine is {minutes} min behind (escalations, SLA checks or pages are late)"
            hint = "check the workers, the broker and the database"
        return f"{what}; {hint}. Run `vigil doctor` on the server. {public_url}"


# --- heartbeat -------------------------------------------------------------------------------------

def last_tick(session: Session) -> datetime | None:
    row = session.get(Setting, HEARTBEAT_SETTING)
    return _when((row.value or {}).get("at")) if row else None


def last_watch(session: Session) -> datetime | None:
    """When the watchdog last looked: it runs from the beat, so a recent one means beat is alive."""
    row = session.get(Setting, ALARM_SETTING)
    return _when((row.value or {}).get("checked_at")) if row else None


def beat(session: Session, *, now: datetime) -> datetime | None:
    """Record that the tick runs (at most every BEAT_EVERY); returns the previous heartbeat."""
    before = last_tick(session)
    if before is None or now - before >= BEAT_EVERY or before > now:
        session.execute(insert_for(session)(Setting).values(key=HEARTBEAT_SETTING, value={})
                        .on_conflict_do_nothing(index_elements=["key"]))
        row = session.get(Setting, HEARTBEAT_SETTING, populate_existing=True)
        row.value = {"at": now.isoformat()}
    return before


# --- lag -------------------------------------------------------------------------------------------

def oldest_due(session: Session, *, since: datetime) -> datetime | None:
    """When the oldest work still undone fell due, counting only work due by `since`."""
    escalation = session.scalar(select(func.min(Escalation.next_at)).where(
        Escalation.state.in_(("active", "deferred")), Escalation.next_at <= since))
    sla = session.scalar(select(func.min(Incident.sla_check_at)).where(
        Incident.sla_check_at <= since, Incident.responded_at.is_(None), Incident.breached_at.is_(None),
        Incident.status != Status.RESOLVED.value))
    pending = session.scalar(select(func.min(func.coalesce(Page.next_attempt_at, Page.created_at))).where(
        Page.status == "pending", func.coalesce(Page.next_attempt_at, Page.created_at) <= since))
    stuck = session.scalar(select(func.min(Page.deadline_at)).where(
        Page.status == "sending", Page.deadline_at <= since))
    found = [when for when in (escalation, sla, pending, stuck) if when is not None]
    return min(found) if found else None


def lag_alarm(session: Session, *, previous_tick: datetime | None, now: datetime) -> Alarm | None:
    """The alarm the tick owes, if the work it left behind last time is over LAG_LIMIT late."""
    if previous_tick is None:
        return None
    oldest = oldest_due(session, since=min(previous_tick, now))
    if oldest is None or now - oldest <= LAG_LIMIT:
        return None
    return Alarm("lag", now - oldest)


def tick_alarm(session: Session, *, now: datetime) -> Alarm | None:
    """The watchdog's alarm: no tick for LAG_LIMIT (or none ever, since the watchdog began)."""
    row = _locked_alarm_row(session)
    value = dict(row.value or {})
    checked = _when(value.get("checked_at"))
    value.setdefault("watching_since", now.isoformat())
    if checked is None or not timedelta(0) <= now - checked <= LAG_LIMIT:
        # The watching starts, or resumes after a gap (beat was down, the machine slept, the clock
        # jumped): the tick had no chance to run either, so it gets LAG_LIMIT from now.
        value["grace_from"] = now.isoformat()
    value["checked_at"] = now.isoformat()
    row.value = value
    ticked = last_tick(session) or _when(value["watching_since"])
    grace = _when(value.get("grace_from"))
    if grace is not None and grace > ticked:
        ticked = grace
    return Alarm("tick", now - ticked) if now - ticked > LAG_LIMIT else None


# --- paging ----------------------------------------------------------------------------------------

def claim(session: Session, alarm: Alarm, *, now: datetime) -> bool:
    """Whether this worker pages now (the caller commits first): not within REPAGE_AFTER of the last."""
    row = _locked_alarm_row(session)
    value = dict(row.value or {})
    paged = _when(value.get("paged_at"))
    if paged is not None and paged <= now < paged + REPAGE_AFTER:
        return False
    row.value = {**value, "paged_at": now.isoformat(), "reason": alarm.reason,
                 "behind_seconds": int(alarm.behind.total_seconds())}
    return True


def page_admins(session: Session, providers, text: str) -> list[str]:
    """Send `text` to every active admin by SMS and Slack, directly; returns what was delivered."""
    admins = list(session.scalars(select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
                                  .order_by(User.id)))
    delivered = []
    for admin in admins:
        if providers.sms and admin.phone and not admin.sms_opted_out:
            delivered += _attempt(f"sms {admin.phone}", lambda a=admin: providers.sms.send(a.phone, text))
        if providers.chat and admin.slack_user_id:
            blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
            delivered += _attempt(f"slack {admin.slack_user_id}",
                                  lambda a=admin: providers.chat.post(a.slack_user_id, text, blocks))
    if not delivered:
        log.error("engine alarm reached no admin (no admin with a phone or Slack user, or no provider): %s", text)
    return delivered


def raise_alarm(session: Session, alarm: Alarm, *, providers, now: datetime) -> list[str]:
    """Log the alarm and page the admins unless they were paged within REPAGE_AFTER."""
    log.error("engine alarm (%s): %s s behind", alarm.reason, int(alarm.behind.total_seconds()))
    if not claim(session, alarm, now=now):
        session.commit()
        return []
    session.commit()  # claimed before sending: no second worker pages too
    return page_admins(session, providers, alarm.text(providers.public_url))


def _attempt(what: str, send) -> list[str]:
    try:
        send()
    except ProviderError as exc:
        log.error("engine alarm to %s failed: %s", what, exc)
        return []
    except Exception as exc:  # a provider's unforeseen failure must not stop the other admins' pages
        log.exception("engine alarm to %s failed: %r", what, exc)
        return []
    return [what]


def _locked_alarm_row(session: Session) -> Setting:
    session.execute(insert_for(session)(Setting).values(key=ALARM_SETTING, value={})
                    .on_conflict_do_nothing(index_elements=["key"]))
    return session.scalars(select(Setting).where(Setting.key == ALARM_SETTING)
                           .with_for_update().execution_options(populate_existing=True)).one()


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
