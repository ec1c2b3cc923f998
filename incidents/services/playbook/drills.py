"""The quarterly drill reminder: when no drill of the breach playbook has run this calendar quarter,
the admins get one e-mail saying so, once per quarter.

The quarter a reminder went out for is remembered in the setting "playbook.drill_reminder"
({"quarter": "2026-Q4", "claimed_at", "sent_at"}). A worker claims the quarter under the row's lock
and commits before sending, so two workers never both send; a worker that dies mid-send leaves a
claim that another takes over once it is STALE (the one window for a second reminder), and a
failed send gives the claim back for the next run to retry.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.domain.enums import Role
from incidents.domain.playbook import Mode, RunState, drill_due, quarter_label
from incidents.models import PlaybookRun, Setting, User
from incidents.services.sql import insert_for

PLAYBOOK_SETTING = "breach_playbook"
REMINDER_SETTING = "playbook.drill_reminder"
CONSOLE_PAGE = "/playbook"  # where an admin starts a drill
STALE = timedelta(minutes=15)


@dataclass(frozen=True)
class Reminder:
    quarter: str
    to: tuple[str, ...]
    subject: str
    text: str


def last_drill(session: Session) -> date | None:
    """The day the latest drill started (a cancelled one rehearsed nothing and does not count)."""
    started = session.scalar(select(func.max(PlaybookRun.started_at)).where(
        PlaybookRun.mode == Mode.DRILL.value, PlaybookRun.state != RunState.CANCELLED.value))
    return started.date() if started else None


def claim(session: Session, *, now: datetime, public_url: str) -> Reminder | None:
    """The reminder this worker is to send now (the caller commits, then sends), or None: no
    playbook configured, a drill already run this quarter, no admin with an address, or this
    quarter's reminder sent or being sent."""
    if session.get(Setting, PLAYBOOK_SETTING) is None:
        return None
    today = now.date()
    if not drill_due(last_drill(session), today):
        return None
    admins = admin_emails(session)
    if not admins:
        return None
    quarter = quarter_label(today)
    row = _locked_row(session)
    value = row.value or {}
    if value.get("quarter") == quarter and (value.get("sent_at") or _fresh(value.get("claimed_at"), now)):
        return None
    row.value = {"quarter": quarter, "claimed_at": now.isoformat(), "sent_at": None}
    return _letter(quarter, admins, public_url)


def mark_sent(session: Session, *, quarter: str, message_id: str, now: datetime) -> None:
    row = _locked_row(session)
    row.value = {**(row.value or {}), "quarter": quarter, "sent_at": now.isoformat(), "message_id": message_id[:255]}


def release(session: Session, *, quarter: str, error: str) -> None:
    """The send failed: the quarter is unclaimed, so the next run tries again."""
    row = _locked_row(session)
    if (row.value or {}).get("quarter") == quarter:
        row.value = {"quarter": quarter, "claimed_at": None, "sent_at": None, "error": error[:500]}


def admin_emails(session: Session) -> list[str]:
    return list(session.scalars(select(User.email).where(
        User.role == Role.ADMIN.value, User.active.is_(True)).order_by(User.id)))


def _locked_row(session: Session) -> Setting:
    """The reminder's setting row, made if missing, locked until the transaction ends."""
    session.execute(insert_for(session)(Setting).values(key=REMINDER_SETTING, value={})
                    .on_conflict_do_nothing(index_elements=["key"]))
    row = session.scalars(select(Setting).where(Setting.key == REMINDER_SETTING)
                          .with_for_update().execution_options(populate_existing=True)).one()
    return row


def _fresh(claimed_at: str | None, now: datetime) -> bool:
    return claimed_at is not None and datetime.fromisoformat(claimed_at) > now - STALE


def _letter(quarter: str, admins: list[str], public_url: str) -> Reminder:
    link = public_url.rstrip("/") + CONSOLE_PAGE
    return Reminder(quarter=quarter, to=tuple(admins), subject=f"Breach playbook drill due ({quarter})",
                    text=("Hello,\n\nA breach playbook drill is due this quarter "
                          f"({quarter}): no drill has been run since it began. A drill runs every step "
                          "against the drill targets and notifies only the drill recipients, and leaves a "
                          f"report with the run.\n\nStart one in the console: {link}\n\nVigil\n"))
