"""The runner with real executors, through the worker's task and its real surroundings (the app's
providers and mailer, the secret store): a notice that cannot go out stops the run with a plain
error, an admin skips it with a reason, and the API keys are replaced, the old one dead at once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import workers.tasks.playbook  # noqa: F401  (registers playbook.advance)
from incidents.models import ApiKey, IncidentEvent, PlaybookRun, RevealedSecret
from tests.helpers import bearer

RUNS = "/api/v1/playbook-runs"


@pytest.fixture
def worker(app, session):
    """Run the playbook.advance task as the worker would, until the run stops."""
    task = app.extensions["celery"].tasks["playbook.advance"]

    def run(run_id: int) -> None:
        session.rollback()  # hold no snapshot (nor a SQLite lock) while the worker writes
        for _ in range(10):
            if task(run_id) is None:
                return
        raise AssertionError("the run did not stop")
    return run


def run_of(session, run_id) -> PlaybookRun:
    session.rollback()
    return session.get(PlaybookRun, run_id)


def test_a_live_run_skips_an_impossible_notice_and_replaces_the_api_keys(client, make, configure, breach, worker,
                                                                        session):
    configure(rotate=[{"type": "vigil_api_keys"}])
    key = make.api_key("admin", name="lee")
    run_id = client.post(f"/api/v1/incidents/{breach}/breach-playbook", headers=bearer(key)).json["id"]

    worker(run_id)
    failed = run_of(session, run_id)
    assert (failed.state, failed.steps[0].state) == ("failed", "failed")
    assert failed.steps[0].error == ("There is nobody to notify: no customer contact has an e-mail address "
                                     "or phone number.")
    skipped = client.post(f"{RUNS}/{run_id}/steps/1/skip", json={"reason": "customers are called by phone"},
                          headers=bearer(key))
    assert skipped.status_code == 202, skipped.json
    worker(run_id)

    run = run_of(session, run_id)
    assert (run.state, [s.state for s in run.steps]) == ("done", ["skipped", "done"])
    assert run.steps[1].summary.startswith("1 API key revoked and regenerated")
    assert client.get(RUNS, headers=bearer(key)).status_code == 401  # the old key died at once
    assert [k.name for k in session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)))] == ["lee-admin"]
    waiting = session.scalars(select(RevealedSecret).where(RevealedSecret.run_id == run_id)).one()
    assert waiting.ciphertext is not None and waiting.revealed_at is None
    events = [e.message for e in session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == breach, IncidentEvent.kind.like("playbook%")).order_by(IncidentEvent.id))]
    assert events[-1] == f"Breach playbook run {run_id} finished: 1 step done, 1 skipped, 1 failed attempt " \
                         "retried or skipped"


def test_a_drill_leaves_the_api_keys_as_they_are(client, make, configure, worker, session):
    configure(rotate=[{"type": "vigil_api_keys"}], drill={"every": "quarter", "recipients": [], "targets": {}})
    key = make.api_key("admin", name="lee")
    run_id = client.post("/api/v1/playbook-drills", json={}, headers=bearer(key)).json["id"]
    worker(run_id)
    client.post(f"{RUNS}/{run_id}/steps/1/skip", json={"reason": "no drill recipients yet"}, headers=bearer(key))

    worker(run_id)

    run = run_of(session, run_id)
    assert (run.state, run.steps[1].summary) == ("done", "drill: would revoke and regenerate 1 API key "
                                                         "(nothing changed)")
    assert client.get(RUNS, headers=bearer(key)).status_code == 200
