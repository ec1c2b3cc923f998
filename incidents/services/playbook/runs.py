"""Starting a breach playbook run, and an admin's retry or skip of one of its steps.

Each verb checks, writes the run and its steps, the incident's timeline and the audit trail, and
rings the runner after COMMIT (incidents.services.playbook.runner does the steps). The caller
commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incidents.domain import playbook as rules
from incidents.domain.enums import Source
from incidents.models import Incident, PlaybookRun, PlaybookStep, RegulatorClock, Setting
from incidents.services import after_commit, audit, timeline
from incidents.services.actor import Actor
from incidents.services.errors import Conflict, Invalid, NotFound
from incidents.services.playbook import steps as step_kinds

SETTING = "breach_playbook"
TASK = "playbook.advance"
MAX_TEXT = 1000  # the template values given at start
MAX_REASON = 500
NO_CONFIG = ("no breach playbook is configured; add a breach_playbook section to vigil.yaml "
             "(see the example file) and run `vigil apply`")
# How the default {actions} names what the rotate list does, in the order it is listed.
ACTION_WORDS = {
    rules.VIGIL_API_KEYS: "revoking and regenerating API keys",
    rules.VIGIL_INTEGRATION_KEYS: "revoking and regenerating integration keys",
    rules.USER_SESSIONS: "ending every session and requiring password resets",
    rules.AWS_IAM_ACCESS_KEYS: "resetting cloud credentials",
    rules.POSTGRESQL_ROLE: "changing data storage credentials",
    rules.REDIS_ACL_USER: "changing data storage credentials",
}


def start(session: Session, *, incident_id: int | None, mode: str, actor: Actor, source: Source,
          where: audit.Where | None, now: datetime, summary: str | None = None,
          actions: str | None = None) -> PlaybookRun:
    """A live run from a security breach incident, or a drill (with or without an incident)."""
    if mode not in (rules.Mode.LIVE, rules.Mode.DRILL):
        raise Invalid(f"mode: expected {rules.Mode.LIVE} or {rules.Mode.DRILL}, got {mode!r}")
    playbook = configured(session)
    incident = _incident(session, incident_id, mode)
    values = {"summary": _text("summary", summary) or _default_summary(incident),
              "actions": _text("actions", actions) or default_actions(playbook)}
    _refuse_second(session, mode)
    run = PlaybookRun(incident_id=incident.id if incident else None, mode=mode, state=rules.RunState.RUNNING,
                      started_by=actor.label[:200], started_at=now, aware_at=_aware_at(session, incident, now),
                      config={**playbook, "values": values}, report={})
    run.steps = [_step(position, planned, actor=actor, now=now)
                 for position, planned in enumerate(step_kinds.planned_steps(playbook, mode), start=1)]
    try:
        with session.begin_nested():  # the partial unique index refuses a second active run at once
            session.add(run)
            session.flush()
    except IntegrityError:
        raise Conflict(f"a {mode} breach playbook run is already under way; open it to retry or skip "
                       "its failed step") from None
    skipped = sum(step.state == rules.StepState.SKIPPED for step in run.steps)
    note(session, run, kind="playbook_started", actor=actor, source=source,
         message=f"{run_name(run)} started by {actor.label}: {len(run.steps)} steps"
                 + (f", {skipped} skipped ({step_kinds.NO_DRILL_TARGET})" if skipped else ""))
    _audit(session, run, actor=actor, where=where or audit.Where(str(source)), now=now, action="playbook.start",
           details={"mode": mode, "incident_id": run.incident_id, "steps": len(run.steps)})
    after_commit.enqueue(session, TASK, run.id)
    return run


def retry(session: Session, *, run_id: int, position: int, actor: Actor, source: Source,
          where: audit.Where | None, now: datetime) -> PlaybookRun:
    """Run a failed step again; it resumes from its checkpoint (what it had done stays done)."""
    run, step = _run_and_step(session, run_id, position)
    if step.state != rules.StepState.FAILED:
        raise Conflict(f"step {position} is {step.state}; only a failed step can be retried")
    step.state, step.error, step.finished_at, step.actor = rules.StepState.PENDING, None, None, actor.label[:200]
    run.state, run.error = rules.RunState.RUNNING, None
    note(session, run, kind="playbook_step_retried", actor=actor, source=source,
         message=f"{step_name(run, step)} retried by {actor.label}")
    _audit(session, run, actor=actor, where=where or audit.Where(str(source)), now=now, action="playbook.retry",
           details={"position": position, "kind": step.kind})
    session.flush()
    after_commit.enqueue(session, TASK, run.id)
    return run


def skip(session: Session, *, run_id: int, position: int, reason: str, actor: Actor, source: Source,
         where: audit.Where | None, now: datetime) -> PlaybookRun:
    """Leave a failed or pending step undone, saying why; the run goes on with the next one."""
    why = (reason or "").strip()
    if not why:
        raise Invalid("reason: say why this step is skipped, e.g. the role was dropped last week")
    if len(why) > MAX_REASON:
        raise Invalid(f"reason: at most {MAX_REASON} characters")
    run, step = _run_and_step(session, run_id, position)
    if step.state not in (rules.StepState.FAILED, rules.StepState.PENDING):
        raise Conflict(f"step {position} is {step.state}; only a failed or pending step can be skipped")
    step.state, step.skip_reason, step.finished_at = rules.StepState.SKIPPED, why, now
    step.actor, step.lease_until = actor.label[:200], None
    if not any(other.state == rules.StepState.FAILED for other in run.steps):
        run.state, run.error = rules.RunState.RUNNING, None
    note(session, run, kind="playbook_step_skipped", actor=actor, source=source,
         message=f"{step_name(run, step)} skipped by {actor.label}: {why}")
    _audit(session, run, actor=actor, where=where or audit.Where(str(source)), now=now, action="playbook.skip",
           details={"position": position, "kind": step.kind, "reason": why})
    session.flush()
    after_commit.enqueue(session, TASK, run.id)
    return run


def get(session: Session, run_id: int) -> PlaybookRun:
    run = session.get(PlaybookRun, run_id)
    if run is None:
        raise NotFound(f"playbook run {run_id} does not exist")
    return run


def list_runs(session: Session, *, limit: int = 50) -> list[PlaybookRun]:
    """Newest first."""
    return list(session.scalars(select(PlaybookRun).order_by(PlaybookRun.started_at.desc(), PlaybookRun.id.desc())
                                .limit(limit)))


def configured(session: Session) -> dict:
    """The breach_playbook section as `vigil apply` stored it; Invalid when there is none."""
    row = session.get(Setting, SETTING)
    if row is None or not row.value:
        raise Invalid(NO_CONFIG)
    return dict(row.value)


def note(session: Session, run: PlaybookRun, *, kind: str, actor: Actor, source: Source, message: str) -> None:
    """A line on the incident's timeline (a drill without an incident has none: its steps say it all)."""
    if run.incident_id is not None:
        timeline.record(session, incident_id=run.incident_id, kind=kind, actor=actor, source=source,
                        message=message, data={"playbook_run_id": run.id})


def default_actions(playbook: dict) -> str:
    """What we are doing, from the rotate list: 'revoking and regenerating API keys and ...'."""
    words = list(dict.fromkeys(ACTION_WORDS[entry["type"]] for entry in playbook.get("rotate") or []))
    if not words:
        return "investigating and notifying every affected customer"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def run_name(run: PlaybookRun) -> str:
    return f"Breach playbook {'drill ' if run.mode == rules.Mode.DRILL else ''}run {run.id}"


def step_name(run: PlaybookRun, step: PlaybookStep) -> str:
    return f"{run_name(run)}: step {step.position} ({step.title})"


def _incident(session: Session, incident_id: int | None, mode: str) -> Incident | None:
    if incident_id is None:
        if mode == rules.Mode.LIVE:
            raise Invalid("a live run starts from an incident of category security_breach; name the incident")
        return None
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist")
    if mode == rules.Mode.LIVE and incident.category != rules.BREACH_CATEGORY:
        raise Invalid(f"incident {incident_id} is not a security breach (its category is {incident.category!r}); "
                      f"only an incident of category {rules.BREACH_CATEGORY} starts the breach playbook")
    return incident


def _refuse_second(session: Session, mode: str) -> None:
    active = session.scalar(select(PlaybookRun.id).where(PlaybookRun.mode == mode,
                                                         PlaybookRun.state.in_(rules.ACTIVE_RUN_STATES)))
    if active is not None:
        raise Conflict(f"{mode} breach playbook run {active} is already under way; finish it (retry or skip "
                       "its failed step) before starting another")


def _aware_at(session: Session, incident: Incident | None, now: datetime) -> datetime:
    """When we became aware: the regulator's clock if one is kept, else the incident's opening."""
    if incident is None:
        return now
    clock = session.get(RegulatorClock, incident.id)
    return clock.aware_at if clock is not None else incident.opened_at


def _step(position: int, planned: step_kinds.PlannedStep, *, actor: Actor, now: datetime) -> PlaybookStep:
    skipped = planned.skip_reason is not None
    return PlaybookStep(position=position, kind=planned.kind, title=planned.title, config=planned.config,
                        state=rules.StepState.SKIPPED if skipped else rules.StepState.PENDING, attempts=0,
                        actor=actor.label[:200], skip_reason=planned.skip_reason,
                        finished_at=now if skipped else None, checkpoint={})


def _run_and_step(session: Session, run_id: int, position: int) -> tuple[PlaybookRun, PlaybookStep]:
    run = session.scalars(select(PlaybookRun).where(PlaybookRun.id == run_id).with_for_update()).first()
    if run is None:
        raise NotFound(f"playbook run {run_id} does not exist")
    if run.state not in rules.ACTIVE_RUN_STATES:
        raise Conflict(f"playbook run {run_id} is {run.state}; its steps can no longer change")
    step = session.scalars(select(PlaybookStep).where(PlaybookStep.run_id == run_id,
                                                      PlaybookStep.position == position)
                           .with_for_update()).first()
    if step is None:
        raise NotFound(f"playbook run {run_id} has no step {position}")
    return run, step


def _text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if len(value.strip()) > MAX_TEXT:
        raise Invalid(f"{name}: at most {MAX_TEXT} characters")
    return value.strip() or None


def _default_summary(incident: Incident | None) -> str:
    return incident.title if incident is not None else "a rehearsal of our breach protocol (a drill)"


def _audit(session: Session, run: PlaybookRun, *, actor: Actor, where: audit.Where, now: datetime, action: str,
           details: dict) -> None:
    audit.record(session, actor=actor, where=where, action=action, target=f"playbook run {run.id}", now=now,
                 details=details)
