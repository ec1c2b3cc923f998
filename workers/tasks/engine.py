"""The engine's doorbells: the beat tick and the fast path after intake. Thin: one service each."""
from celery import shared_task

from incidents import clock
from incidents.services.engine import deliveries, escalations, sla_sweep
from incidents.services.playbook import regulator, runner
from incidents.web.session import db_session


@shared_task(name="engine.tick")
def tick() -> int:
    """Advance every due escalation, then warn of and mark SLA breaches (in batches, each its own
    transaction), then sweep the outbox."""
    session = db_session()
    now = clock.now()
    advanced = 0
    while True:
        count = escalations.advance_due(session, now=now)
        session.commit()
        advanced += count
        if count < escalations.BATCH:
            break
    while sla_sweep.run(session, now=now) == sla_sweep.BATCH:
        session.commit()
    while regulator.sweep(session, now=now) == regulator.BATCH:  # GDPR deadlines of breach incidents
        session.commit()
    runner.sweep(session, now=now)  # breach playbook steps whose doorbell was lost or whose worker died
    session.commit()
    deliveries.sweep(session, now=now)
    session.commit()
    return advanced


@shared_task(name="engine.advance")
def advance(incident_id: int) -> bool:
    """A new or reopened incident's first step, without waiting for the next tick."""
    session = db_session()
    done = escalations.advance_one(session, incident_id=incident_id, now=clock.now())
    session.commit()
    return done
