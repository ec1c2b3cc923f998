"""The runner, with a fake executor for every kind (a unit test of the runner itself): steps in
order, a failure stops the run, retry resumes from the checkpoint, skip goes on, a dead worker's
step is resumed by the sweep after its lease, drills run on drill targets, and the report."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from incidents.domain.enums import Source
from incidents.models import IncidentEvent, PlaybookNotice, PlaybookRun
from incidents.services import after_commit
from incidents.services.errors import Conflict, Invalid
from incidents.services.playbook import runner, runs
from tests.playbook.conftest import ADMIN, drive, start
from tests.playbook.fake_steps import WorkerDied

ROTATE = [{"type": "vigil_api_keys"}, {"type": "user_sessions"},
          {"type": "aws_iam_access_keys", "users": ["deploy-bot"]}]


def run_of(session, run_id) -> PlaybookRun:
    session.commit()  # a fresh snapshot
    run = session.get(PlaybookRun, run_id)
    session.refresh(run)
    for step in run.steps:
        session.refresh(step)
    return run


def states(session, run_id):
    run = run_of(session, run_id)
    return run.state, [s.state for s in run.steps]


def playbook_events(session, incident_id):
    session.commit()
    return [e.message for e in session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.kind.like("playbook%")).order_by(IncidentEvent.id))]


def retry(session, run_id, position):
    runs.retry(session, run_id=run_id, position=position, actor=ADMIN, source=Source.API, where=None,
               now=_now())
    session.commit()


def skip(session, run_id, position, reason):
    runs.skip(session, run_id=run_id, position=position, reason=reason, actor=ADMIN, source=Source.API,
              where=None, now=_now())
    session.commit()


def _now():
    from incidents import clock
    return clock.now()


def test_steps_run_in_order_and_the_run_finishes_with_a_report(session, configure, breach, fake_steps):
    configure(rotate=ROTATE)
    run_id = start(session, breach)

    assert drive(session, run_id) == [1, 2, 3, 4]

    assert [(kind, phase) for kind, phase, _ in fake_steps.calls] == [
        (kind, phase) for kind in ("notify_customers", "vigil_api_keys", "user_sessions", "aws_iam_access_keys")
        for phase in ("plan", "apply", "verify")]
    run = run_of(session, run_id)
    assert (run.state, [s.state for s in run.steps]) == ("done", ["done"] * 4)
    assert run.steps[2].summary == "rotated user_sessions" and run.steps[2].attempts == 1
    assert run.report["failures"] == 0 and run.report["notify_all_seconds"] is None
    assert [row["kind"] for row in run.report["steps"]] == [s.kind for s in run.steps]
    assert playbook_events(session, breach)[-2:] == [
        f"Breach playbook run {run_id}: step 4 (Reset AWS IAM access keys: deploy-bot) done: "
        "rotated aws_iam_access_keys",
        f"Breach playbook run {run_id} finished: 4 steps done, 0 skipped"]


def test_a_failed_step_stops_the_run_with_its_error(session, configure, breach, fake_steps):
    configure(rotate=ROTATE)
    fake_steps.fail["user_sessions"] = ("apply", "the mail server refused the reset links")
    run_id = start(session, breach)

    assert drive(session, run_id) == [1, 2, 3]

    run = run_of(session, run_id)
    assert (run.state, [s.state for s in run.steps]) == ("failed", ["done", "done", "failed", "pending"])
    assert run.steps[2].error == "the mail server refused the reset links"
    assert run.error == ("step 3 (End sessions and require password resets) failed: "
                         "the mail server refused the reset links")
    assert "aws_iam_access_keys" not in fake_steps.configs
    assert playbook_events(session, breach)[-1] == (
        f"Breach playbook run {run_id}: step 3 (End sessions and require password resets) failed: "
        "the mail server refused the reset links; the run waits for a retry or a skip")
    assert drive(session, run_id) == []  # the runner waits for an admin


def test_retry_resumes_from_the_checkpoint_without_planning_again(session, configure, breach, fake_steps):
    configure(rotate=ROTATE)
    fake_steps.fail["vigil_api_keys"] = ("verify", "an old key still works")
    run_id = start(session, breach)
    drive(session, run_id)
    del fake_steps.fail["vigil_api_keys"]
    fake_steps.calls.clear()

    retry(session, run_id, 2)
    assert states(session, run_id) == ("running", ["done", "pending", "pending", "pending"])
    drive(session, run_id)

    assert fake_steps.calls[:2] == [("vigil_api_keys", "apply", {"plan": {"kind": "vigil_api_keys", "drill": False},
                                                                  "half": True}),
                                    ("vigil_api_keys", "verify", {"plan": {"kind": "vigil_api_keys", "drill": False},
                                                                   "half": True})]
    run = run_of(session, run_id)
    assert run.state == "done" and run.steps[1].attempts == 2 and run.steps[1].actor == ADMIN.label
    assert run.report["failures"] == 1
    assert run.report["steps"][1]["error"] == "an old key still works"


def test_an_unexpected_error_is_shown_by_its_class_only(session, configure, breach, fake_steps, caplog):
    configure(rotate=ROTATE)
    fake_steps.boom["vigil_api_keys"] = "apply"
    run_id = start(session, breach)

    with caplog.at_level(logging.DEBUG):
        drive(session, run_id)

    run = run_of(session, run_id)
    assert run.steps[1].error == ("the step stopped on an unexpected error (ValueError); see the worker's log, "
                                  "then retry or skip it")
    assert "hunter2" not in caplog.text and "ValueError" in caplog.text
    assert not any("hunter2" in message for message in playbook_events(session, breach))
    assert "hunter2" not in (run.error or "")


def test_skip_needs_a_reason_and_the_run_goes_on(session, configure, breach, fake_steps):
    configure(rotate=ROTATE)
    fake_steps.fail["user_sessions"] = ("plan", "no mail server is configured")
    run_id = start(session, breach)
    drive(session, run_id)

    with pytest.raises(Invalid, match="reason: say why this step is skipped"):
        skip(session, run_id, 3, "  ")
    session.rollback()
    with pytest.raises(Conflict, match="step 1 is done; only a failed or pending step can be skipped"):
        skip(session, run_id, 1, "no need")
    session.rollback()
    with pytest.raises(Conflict, match="step 4 is pending; only a failed step can be retried"):
        retry(session, run_id, 4)
    session.rollback()
    skip(session, run_id, 3, "resets are sent by hand this time")
    drive(session, run_id)

    run = run_of(session, run_id)
    assert (run.state, [s.state for s in run.steps]) == ("done", ["done", "done", "skipped", "done"])
    assert (run.steps[2].skip_reason, run.steps[2].actor) == ("resets are sent by hand this time", ADMIN.label)
    assert run.report["failures"] == 1 and run.report["steps"][2]["state"] == "skipped"
    assert f"Breach playbook run {run_id}: step 3 (End sessions and require password resets) skipped by " \
           "lee@ops.example: resets are sent by hand this time" in playbook_events(session, breach)
    assert playbook_events(session, breach)[-1] == (f"Breach playbook run {run_id} finished: 3 steps done, "
                                                    "1 skipped, 1 failed attempt retried or skipped")
    with pytest.raises(Conflict, match=f"playbook run {run_id} is done; its steps can no longer change"):
        skip(session, run_id, 4, "too late")


def test_skipping_a_pending_step_leaves_a_failed_run_failed(session, configure, breach, fake_steps):
    configure(rotate=ROTATE)
    fake_steps.fail["vigil_api_keys"] = ("apply", "the keys table is locked")
    run_id = start(session, breach)
    drive(session, run_id)

    skip(session, run_id, 4, "the IAM user is rotated by hand")

    assert states(session, run_id) == ("failed", ["done", "failed", "pending", "skipped"])


def test_a_dead_workers_step_is_resumed_after_its_lease_with_its_checkpoint(session, configure, breach, fake_steps,
                                                                          clock):
    configure(rotate=ROTATE)
    fake_steps.die["vigil_api_keys"] = "after_save"
    run_id = start(session, breach)
    with pytest.raises(WorkerDied):
        drive(session, run_id)
    session.rollback()
    assert states(session, run_id) == ("running", ["done", "running", "pending", "pending"])

    clock.advance(seconds=runner.LEASE.total_seconds() - 60)
    assert runner.sweep(session, now=clock.at) == 0  # the lease has a minute left: someone may be on it
    assert drive(session, run_id) == []
    clock.advance(minutes=2)
    after_commit.discard(session)  # the doorbells rung so far (tests run the steps themselves)
    assert runner.sweep(session, now=clock.at) == 1
    assert after_commit.take(session) == [("playbook.advance", (run_id,))]
    fake_steps.calls.clear()
    drive(session, run_id)

    assert fake_steps.calls[0] == ("vigil_api_keys", "apply", {"plan": {"kind": "vigil_api_keys", "drill": False},
                                                               "half": True})
    run = run_of(session, run_id)
    assert run.state == "done" and run.steps[1].attempts == 2
    assert run.report["failures"] == 0


def test_the_sweep_rings_a_run_whose_doorbell_was_lost(session, configure, breach, fake_steps):
    configure(rotate=ROTATE)
    run_id = start(session, breach)

    assert runner.sweep(session, now=_now()) == 1
    session.rollback()
    drive(session, run_id)
    assert runner.sweep(session, now=_now()) == 0


def test_a_drill_runs_external_kinds_on_drill_targets(session, configure, fake_steps):
    configure()
    run_id = start(session, None, mode="drill")

    drive(session, run_id)

    assert fake_steps.configs["aws_iam_access_keys"] == {"type": "aws_iam_access_keys", "users": ["drill-bot"]}
    assert fake_steps.configs["postgresql_role"]["role"] == "drill_rw"
    assert "redis_acl_user" not in fake_steps.configs
    run = run_of(session, run_id)
    assert [s.state for s in run.steps] == ["done"] * 5 + ["skipped"]
    assert run.steps[1].summary == "drill: would rotate vigil_api_keys"
    assert run.report["steps"][5] == {"position": 6, "kind": "redis_acl_user", "title": "Change a Redis ACL user's "
                                      "password: app", "state": "skipped", "seconds": None, "attempts": 0,
                                      "error": None}


def test_the_report_times_each_step_and_the_last_customer_notice(session, configure, breach, fake_steps, clock):
    configure(rotate=ROTATE[:1])

    def notify(ctx):
        for minutes, state in ((3, "sent"), (7, "sent"), (9, "failed")):
            ctx.session.add(PlaybookNotice(run_id=ctx.run_id, step_id=ctx.step_id, purpose="customer_notice",
                                           recipient="Dana", channel="email", address=f"d{minutes}@acme.example",
                                           state=state, created_at=clock.at,
                                           sent_at=clock.at + timedelta(minutes=minutes) if state == "sent" else None))
        clock.advance(minutes=10)

    fake_steps.hooks["notify_customers", "apply"] = notify
    fake_steps.hooks["vigil_api_keys", "apply"] = lambda ctx: clock.advance(seconds=90)
    run_id = start(session, breach)
    clock.advance(minutes=1)  # the worker picks the run up a minute later

    drive(session, run_id)

    report = run_of(session, run_id).report
    assert [(row["position"], row["seconds"], row["attempts"]) for row in report["steps"]] == [(1, 600.0, 1),
                                                                                              (2, 90.0, 1)]
    assert report["total_seconds"] == 60 + 600 + 90
    assert report["notify_all_seconds"] == 60 + 7 * 60
    assert report["notices_undelivered"] == 1  # the failed one, listed apart


def test_a_run_another_worker_is_claiming_is_passed_over_at_once(session, configure, breach, fake_steps, app):
    """On PostgreSQL the run row is claimed with SKIP LOCKED: a second worker does not wait for it."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers instead")
    configure(rotate=ROTATE)
    run_id = start(session, breach)
    other = app.extensions["vigil.db"].sessionmaker()
    try:
        other.scalars(select(PlaybookRun).where(PlaybookRun.id == run_id).with_for_update()).one()

        assert drive(session, run_id) == []
        assert states(session, run_id) == ("running", ["pending"] * 4)
    finally:
        other.rollback()
        other.close()
    assert drive(session, run_id) == [1, 2, 3, 4]


def test_the_engine_tick_rings_a_run_whose_worker_died(session, configure, breach, fake_steps, clock, app,
                                                      monkeypatch):
    import workers.tasks.engine  # noqa: F401  (registers engine.tick)

    configure(rotate=ROTATE)
    fake_steps.die["notify_customers"] = "apply"
    run_id = start(session, breach)
    with pytest.raises(WorkerDied):
        drive(session, run_id)
    session.rollback()
    sent = []
    celery = app.extensions["celery"]
    monkeypatch.setattr(celery, "send_task", lambda name, args: sent.append((name, args)))

    celery.tasks["engine.tick"]()
    clock.advance(minutes=6)
    celery.tasks["engine.tick"]()

    assert sent == [("playbook.advance", [run_id])]
