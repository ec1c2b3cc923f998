"""The engine's doorbells: the beat tick and the fast path after intake. Thin: one service each."""
import logging

from celery import shared_task
from flask import current_app

from incidents import clock
from incidents.services.engine import deliveries, escalations, sla_sweep, watchdog
from incidents.services.engine import heartbeats as heartbeat_sweep
from incidents.services.playbook import regulator, runner
from incidents.web.session import db_session

log = logging.getLogger(__name__)


@shared_task(name="engine.tick")
def tick() -> int:
    """Advance every due escalation, then warn of and mark SLA breaches (in batches, each its own
    transaction), then sweep the outbox."""
    session = db_session()
    now = clock.now()
    _watch_own_lag(session, now)
    advanced = 0
    while True:
        count = escalations.advance_due(session, now=now)
        session.commit()
        advanced += count
        if count < escalations.BATCH:
            break
    while sla_sweep.run(session, now=now) == sla_sweep.BATCH:
        session.commit()
    while heartbeat_sweep.run(session, now=now) == heartbeat_sweep.BATCH:  # silent jobs open incidents
        session.commit()
    while regulator.sweep(session, now=now) == regulator.BATCH:  # GDPR deadlines of breach incidents
        session.commit()
    runner.sweep(session, now=now)  # breach playbook steps whose doorbell was lost or whose worker died
    session.commit()
    deliveries.sweep(session, now=now)
    session.commit()
    return advanced


def _watch_own_lag(session, now) -> None:
    """Heartbeat, then page the admins directly if the work left behind last tick is a minute late.
    First in the tick, so a tick that fails later on still watches; its own failure only logs."""
    try:
        previous = watchdog.beat(session, now=now)
        session.commit()
        alarm = watchdog.lag_alarm(session, previous_tick=previous, now=now)
        if alarm is not None:
            watchdog.raise_alarm(session, alarm, providers=current_app.extensions["vigil.providers"], now=now)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("engine self-watch failed")


@shared_task(name="engine.watchdog")
def watch() -> int:
    """Page the admins directly when the tick has not run for a minute (beat, default queue)."""
    session = db_session()
    now = clock.now()
    alarm = watchdog.tick_alarm(session, now=now)
    session.commit()
    if alarm is None:
        return 0
    return len(watchdog.raise_alarm(session, alarm, providers=current_app.extensions["vigil.providers"], now=now))


@shared_task(name="engine.advance")
def advance(incident_id: int) -> bool:
    """A new or reopened incident's first step, without waiting for the next tick."""
    session = db_session()
    done = escalations.advance_one(session, incident_id=incident_id, now=clock.now())
    session.commit()
    return done
