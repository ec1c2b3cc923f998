"""Starting a breach playbook run: only from a security breach, once at a time, with a configured
playbook; steps in the protocol's order from a snapshot of the config; drills on drill targets."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from incidents.models import AuditEvent, IncidentEvent, PlaybookRun, PlaybookStep
from incidents.services.errors import Conflict, Invalid, NotFound
from incidents.services.playbook import runs
from tests.playbook.conftest import ADMIN, report, start


def steps_of(session, run_id):
    session.commit()
    return [(s.position, s.kind, s.state) for s in session.scalars(
        select(PlaybookStep).where(PlaybookStep.run_id == run_id).order_by(PlaybookStep.position))]


def test_a_live_run_notifies_customers_first_then_rotates_in_the_listed_order(session, configure, breach):
    configure()

    run_id = start(session, breach)

    assert steps_of(session, run_id) == [
        (1, "notify_customers", "pending"), (2, "vigil_api_keys", "pending"), (3, "user_sessions", "pending"),
        (4, "aws_iam_access_keys", "pending"), (5, "postgresql_role", "pending"), (6, "redis_acl_user", "pending")]
    run = session.get(PlaybookRun, run_id)
    assert (run.mode, run.state, run.started_by, run.incident_id) == ("live", "running", ADMIN.label, breach)
    assert run.steps[3].title == "Reset AWS IAM access keys: deploy-bot"
    assert run.steps[4].config == {"type": "postgresql_role", "role": "app_rw", "dsn_env": "BREACH_PG_ADMIN_DSN"}
    assert run.config["values"] == {
        "summary": "Unauthorized access to the customer database",
        "actions": "revoking and regenerating API keys, ending every session and requiring password resets, "
                   "resetting cloud credentials and changing data storage credentials"}


def test_start_is_on_the_timeline_and_in_the_audit_trail_and_rings_the_runner(session, configure, breach, clock):
    configure()

    run = runs.start(session, incident_id=breach, mode="live", actor=ADMIN, source="api", where=None,
                     now=clock.at, summary="An attacker read the contacts table", actions="rotating every key")
    rung = list(session.info.get("vigil.after_commit", []))
    session.commit()

    assert rung == [("playbook.advance", (run.id,))]
    events = [e.message for e in session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == breach, IncidentEvent.kind == "playbook_started"))]
    assert events == [f"Breach playbook run {run.id} started by lee@ops.example: 6 steps"]
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "playbook.start")).one()
    assert (audit.actor, audit.target, audit.details["mode"]) == ("lee@ops.example", f"playbook run {run.id}", "live")
    assert run.config["values"] == {"summary": "An attacker read the contacts table", "actions": "rotating every key"}


def test_an_incident_that_is_not_a_breach_is_refused(session, configure, breach):
    configure()
    outage = report(session, "Checkout outage in eu-west")

    with pytest.raises(Invalid, match=f"incident {outage} is not a security breach .*'outage'"):
        start(session, outage)
    session.rollback()
    assert session.scalars(select(PlaybookRun)).all() == []


def test_no_incident_or_a_missing_one_is_refused_for_a_live_run(session, configure, breach):
    configure()

    with pytest.raises(Invalid, match="a live run starts from an incident of category security_breach"):
        start(session, None)
    with pytest.raises(NotFound, match="incident 999 does not exist"):
        start(session, 999)


def test_without_a_configured_playbook_the_error_says_how_to_configure_one(session, breach):
    with pytest.raises(Invalid, match="no breach playbook is configured; add a breach_playbook section"):
        start(session, breach)


def test_a_second_live_run_is_refused_while_one_is_active(session, configure, breach, make):
    configure()
    first = start(session, breach)
    other = report(session, "Second intrusion found on the admin host")

    with pytest.raises(Conflict, match=f"live breach playbook run {first} is already under way"):
        start(session, other)
    session.rollback()
    assert [r.id for r in session.scalars(select(PlaybookRun))] == [first]


def test_the_database_refuses_a_second_active_run_too(session, configure, breach, monkeypatch):
    """Two starts at once both pass the look-up; the partial unique index stops the second."""
    configure()
    start(session, breach)
    monkeypatch.setattr(runs, "_refuse_second", lambda session, mode: None)

    with pytest.raises(Conflict, match="a live breach playbook run is already under way"):
        start(session, breach)
    session.rollback()
    assert len(session.scalars(select(PlaybookRun)).all()) == 1


def test_a_drill_runs_beside_a_live_run_and_needs_no_incident(session, configure, breach):
    configure()
    start(session, breach)

    drill = start(session, None, mode="drill")

    assert session.get(PlaybookRun, drill).incident_id is None
    with pytest.raises(Conflict, match="drill breach playbook run"):
        start(session, None, mode="drill")


def test_a_drill_swaps_in_drill_targets_and_skips_kinds_without_one(session, configure, breach):
    configure()

    run_id = start(session, None, mode="drill")

    assert steps_of(session, run_id)[3:] == [
        (4, "aws_iam_access_keys", "pending"), (5, "postgresql_role", "pending"), (6, "redis_acl_user", "skipped")]
    run = session.get(PlaybookRun, run_id)
    assert run.steps[3].config == {"type": "aws_iam_access_keys", "users": ["drill-bot"]}
    assert run.steps[3].title == "Reset AWS IAM access keys: drill-bot (drill target)"
    assert run.steps[4].config == {"type": "postgresql_role", "role": "drill_rw", "dsn_env": "DRILL_PG_ADMIN_DSN"}
    assert (run.steps[5].skip_reason, run.steps[5].finished_at is not None) == ("no drill target configured", True)
    assert run.config["values"]["summary"] == "a rehearsal of our breach protocol (a drill)"


def test_a_bad_mode_or_too_long_values_are_refused(session, configure, breach):
    configure()

    with pytest.raises(Invalid, match="mode: expected live or drill, got 'practice'"):
        start(session, breach, mode="practice")
    with pytest.raises(Invalid, match="summary: at most 1000 characters"):
        start(session, breach, summary="x" * 1001)
    session.rollback()
    assert session.scalars(select(PlaybookRun)).all() == []


def test_the_run_keeps_its_snapshot_when_the_config_changes(session, configure, breach):
    configure()
    run_id = start(session, breach)

    configure(rotate=[{"type": "user_sessions"}], notify_customers="affected")

    run = session.get(PlaybookRun, run_id)
    assert [s.kind for s in run.steps][1:] == ["vigil_api_keys", "user_sessions", "aws_iam_access_keys",
                                               "postgresql_role", "redis_acl_user"]
    assert run.config["notify_customers"] == "all" and run.steps[0].config["notify_customers"] == "all"


def test_a_drill_target_keeps_the_real_steps_secret_store_unless_it_names_one(session, configure):
    rotate = [{"type": "aws_iam_access_keys", "users": ["deploy-bot"], "secret_store": "aws_secrets_manager"},
              {"type": "postgresql_role", "role": "app_rw", "dsn_env": "PG", "secret_store": "aws_secrets_manager"}]
    configure(rotate=rotate, drill={"every": "quarter", "recipients": [], "targets": {
        "aws_iam_access_keys": {"users": ["drill-bot"]},
        "postgresql_role": {"role": "drill_rw", "dsn_env": "DRILL_PG", "secret_store": "vigil"}}})

    run = session.get(PlaybookRun, start(session, None, mode="drill"))

    assert [s.config for s in run.steps[1:]] == [
        {"type": "aws_iam_access_keys", "secret_store": "aws_secrets_manager", "users": ["drill-bot"]},
        {"type": "postgresql_role", "secret_store": "vigil", "role": "drill_rw", "dsn_env": "DRILL_PG"}]
