"""Running a playbook's steps, one per call, so a worker that dies loses at most the step it held.

`advance` claims the run's next step with a lease and commits, then plans (the plan is kept in
the step's checkpoint, so a resumed step reuses it), applies and verifies it, and records the
outcome. A step whose lease passed lost its worker: `sweep` (the engine's tick) rings the runner
again and the step is claimed anew, its executor seeing the checkpoint it saved.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.domain import playbook as rules
from incidents.domain.enums import Source
from incidents.models import PlaybookNotice, PlaybookRun, PlaybookStep
from incidents.services import after_commit
from incidents.services.actor import Actor
from incidents.services.playbook import runs, steps
from incidents.services.playbook.rotators.base import Context, RotationError, SecretStore

log = logging.getLogger(__name__)
# How long a claimed step is its worker's: a dead worker's step resumes this long after its last
# ctx.save(). Steps save after each side effect (a notice, a key, an IAM user verified), and the
# longest stretch without one (waiting up to 30 s for AWS to activate a key, twice) fits well inside.
LEASE = timedelta(minutes=2)
CUSTOMER_NOTICE = "customer_notice"


@dataclass
class Surroundings:
    """What a step reaches outside the database, built by the worker (workers/tasks/playbook.py)."""

    secrets: SecretStore | None = None
    environ: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


# (session, the step's config, the run's playbook snapshot) -> Surroundings
ContextFactory = Callable[[Session, dict, dict], Surroundings]


def advance(session: Session, *, run_id: int, now: Callable[[], datetime],
            context_factory: ContextFactory) -> int | None:
    """Run the next step of a run; returns its position, or None when there was nothing to run
    (another worker holds it, the run waits for an admin, or it has just finished). Commits."""
    step = _claim(session, run_id, now())
    session.commit()
    if step is None:
        return None
    _execute(session, step, now=now, context_factory=context_factory)
    return step.position


def sweep(session: Session, *, now: datetime) -> int:
    """Ring the runner for each running run whose next step waits or whose worker's lease passed
    (a lost doorbell or a dead worker). The caller commits, which sends the doorbells."""
    rung = 0
    for run in session.scalars(select(PlaybookRun).where(PlaybookRun.state == rules.RunState.RUNNING)):
        step = _next_step(session, run.id)
        if step is None or step.state == rules.StepState.PENDING or _lease_passed(step, now):
            after_commit.enqueue(session, runs.TASK, run.id)
            rung += 1
    return rung


def _claim(session: Session, run_id: int, now: datetime) -> PlaybookStep | None:
    """The run's next step, now ours for LEASE: pending, or running with its lease passed. The run
    row is locked (SKIP LOCKED: another worker claiming it already has it) while we look."""
    run = session.scalars(select(PlaybookRun).where(PlaybookRun.id == run_id)
                          .with_for_update(skip_locked=True)).first()
    if run is None or run.state != rules.RunState.RUNNING:
        return None
    step = _next_step(session, run_id)
    if step is None:
        _finish(session, run, now)
        return None
    if step.state == rules.StepState.RUNNING and not _lease_passed(step, now):
        return None  # a live worker has it
    if step.state not in (rules.StepState.PENDING, rules.StepState.RUNNING):
        return None  # failed: the run waits for a retry or a skip
    step.state, step.attempts, step.lease_until = rules.StepState.RUNNING, step.attempts + 1, now + LEASE
    step.started_at = step.started_at or now
    return step


def _execute(session: Session, step: PlaybookStep, *, now: Callable[[], datetime],
             context_factory: ContextFactory) -> None:
    run = step.run
    try:
        ctx = _context(session, run, step, now=now, context_factory=context_factory)
        executor = steps.executor(step.kind)
        plan = ctx.checkpoint.get("plan")
        if plan is None:
            plan = executor.plan(ctx)
            ctx.save(plan=plan)
        executor.apply(ctx, plan)
        summary = executor.verify(ctx, plan)
    except RotationError as error:
        _fail(session, step.id, error.message, now())
        return
    except Exception as error:  # never str(error): a driver's message may quote a secret
        log.error("playbook run %s step %s (%s) stopped on %s", run.id, step.position, step.kind,
                  error.__class__.__name__)
        _fail(session, step.id, f"the step stopped on an unexpected error ({error.__class__.__name__}); "
                                "see the worker's log, then retry or skip it", now())
        return
    _done(session, step, summary, now())


def _context(session: Session, run: PlaybookRun, step: PlaybookStep, *, now: Callable[[], datetime],
             context_factory: ContextFactory) -> Context:
    def save(checkpoint: dict) -> None:
        step.checkpoint = checkpoint  # a new dict, so the JSON column is written
        step.lease_until = now() + LEASE
        session.commit()

    outside = context_factory(session, dict(step.config), dict(run.config))
    return Context(session=session, run_id=run.id, step_id=step.id, mode=run.mode, config=dict(step.config),
                   playbook=dict(run.config), checkpoint=dict(step.checkpoint or {}),
                   actor=step.actor or run.started_by, now=now, secrets=outside.secrets,
                   environ=outside.environ, extensions=outside.extensions, _save=save)


def _done(session: Session, step: PlaybookStep, summary: str, now: datetime) -> None:
    run = step.run
    step.state, step.finished_at, step.lease_until = rules.StepState.DONE, now, None
    step.summary, step.error = (summary or "done")[:4000], None
    runs.note(session, run, kind="playbook_step_done", actor=Actor.system(), source=Source.SYSTEM,
              message=f"{runs.step_name(run, step)} done: {step.summary}")
    if _next_step(session, run.id) is None:
        _finish(session, run, now)
    else:
        after_commit.enqueue(session, runs.TASK, run.id)
    session.commit()


def _fail(session: Session, step_id: int, error: str, now: datetime) -> None:
    """Whatever the executor left unsaved is rolled back; its saved checkpoint stays for a retry."""
    session.rollback()
    step = session.get(PlaybookStep, step_id)
    run = step.run
    step.state, step.error, step.finished_at, step.lease_until = rules.StepState.FAILED, error[:4000], now, None
    run.state, run.error = rules.RunState.FAILED, f"step {step.position} ({step.title}) failed: {error}"[:4000]
    # Kept with the run as they happen: a retry clears the step's error, the report still counts it.
    failed = [*(run.report or {}).get("failed", []), {"position": step.position, "error": step.error}]
    run.report = {**(run.report or {}), "failed": failed}
    runs.note(session, run, kind="playbook_step_failed", actor=Actor.system(), source=Source.SYSTEM,
              message=f"{runs.step_name(run, step)} failed: {error}; the run waits for a retry or a skip")
    session.commit()


def _finish(session: Session, run: PlaybookRun, now: datetime) -> None:
    run.state, run.finished_at = rules.RunState.DONE, now
    run.report = report(session, run)
    failures, skipped = run.report["failures"], sum(s.state == rules.StepState.SKIPPED for s in run.steps)
    retried = f", {_count(failures, 'failed attempt')} retried or skipped" if failures else ""
    runs.note(session, run, kind="playbook_done", actor=Actor.system(), source=Source.SYSTEM,
              message=f"{runs.run_name(run)} finished: {_count(len(run.steps) - skipped, 'step')} done, "
                      f"{skipped} skipped{retried}")


def report(session: Session, run: PlaybookRun) -> dict:
    """Time per step, failures (every failed attempt, retried or skipped since), total time, the
    time from the start to the last customer notice sent (None when none was sent), and how many
    customer notices failed or may not have arrived (listed on the run)."""
    failed = (run.report or {}).get("failed", [])
    last_error = {entry["position"]: entry["error"] for entry in failed}
    rows = [{"position": s.position, "kind": s.kind, "title": s.title, "state": s.state,
             "seconds": _seconds(s.started_at, s.finished_at), "attempts": s.attempts,
             "error": s.error or last_error.get(s.position)}
            for s in run.steps]
    customers = (PlaybookNotice.run_id == run.id, PlaybookNotice.purpose == CUSTOMER_NOTICE)
    last_notice = session.scalar(select(func.max(PlaybookNotice.sent_at)).where(
        *customers, PlaybookNotice.state == rules.NoticeState.SENT))
    undelivered = session.scalar(select(func.count()).select_from(PlaybookNotice).where(
        *customers, PlaybookNotice.state.in_((rules.NoticeState.FAILED, rules.NoticeState.UNCERTAIN))))
    return {"steps": rows, "failures": len(failed), "failed": failed,
            "total_seconds": _seconds(run.started_at, run.finished_at),
            "notify_all_seconds": _seconds(run.started_at, last_notice),
            "notices_undelivered": undelivered}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _next_step(session: Session, run_id: int) -> PlaybookStep | None:
    return session.scalars(select(PlaybookStep).where(PlaybookStep.run_id == run_id,
                                                      PlaybookStep.state.not_in(rules.FINISHED_STEP_STATES))
                           .order_by(PlaybookStep.position).limit(1)).first()


def _lease_passed(step: PlaybookStep, now: datetime) -> bool:
    return step.state == rules.StepState.RUNNING and (step.lease_until is None or step.lease_until < now)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)
