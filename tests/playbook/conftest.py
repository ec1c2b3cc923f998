"""Shared fixtures for the breach playbook tests: a stored breach_playbook section, a security
breach incident, the fake step executor, and a driver that runs a run's steps as the worker would."""
from __future__ import annotations

import copy

import pytest

from incidents import clock as clock_module
from incidents.domain import playbook as rules
from incidents.domain.enums import Source
from incidents.models import Setting
from incidents.services import incidents as incident_service
from incidents.services.actor import Actor
from incidents.services.playbook import runner, runs, steps
from tests.playbook import fake_steps as fake_steps_module

ADMIN = Actor("lee@ops.example", None)
TEMPLATE = "Dear {customer}: a security incident affects {service}. {summary}. We are {actions}."
PLAYBOOK = {
    "notify_customers": "all", "template": TEMPLATE, "subject": "Security incident notice",
    "auto_start": False, "secret_store": "vigil",
    "rotate": [{"type": "vigil_api_keys"}, {"type": "user_sessions"},
               {"type": "aws_iam_access_keys", "users": ["deploy-bot"]},
               {"type": "postgresql_role", "role": "app_rw", "dsn_env": "BREACH_PG_ADMIN_DSN"},
               {"type": "redis_acl_user", "user": "app", "url_env": "BREACH_REDIS_ADMIN_URL"}],
    "drill": {"every": "quarter", "recipients": ["lee@ops.example"],
              "targets": {"aws_iam_access_keys": {"users": ["drill-bot"]},
                          "postgresql_role": {"role": "drill_rw", "dsn_env": "DRILL_PG_ADMIN_DSN"}}},
}


@pytest.fixture
def configure(session):
    """Store a breach_playbook section as `vigil apply` would (the default one, or changed)."""
    def store(**changes) -> dict:
        value = {**copy.deepcopy(PLAYBOOK), **changes}
        row = session.get(Setting, runs.SETTING)
        if row is None:
            session.add(Setting(key=runs.SETTING, value=value))
        else:
            row.value = value
        session.commit()
        return value
    return store


@pytest.fixture
def breach(make, session, clock):
    """A security breach incident (class 1), reported by a person; returns its id."""
    make.rules()
    make.customer()
    return report(session, "Unauthorized access to the customer database")


def report(session, title: str) -> int:
    incident = incident_service.report(session, title=title, description="Seen in the audit log",
                                       customer_slug="acme", actor=ADMIN, source=Source.API)
    session.commit()
    return incident.id


@pytest.fixture
def fake_steps(monkeypatch):
    """Every kind runs the fake executor; its script and record start empty."""
    monkeypatch.setattr(steps, "STEP_KINDS", {kind: fake_steps_module.FAKE for kind in rules.STEP_KINDS})
    monkeypatch.setattr(fake_steps_module, "SCRIPT", fake_steps_module.Script())
    return fake_steps_module.SCRIPT



def start(session, incident_id=None, mode="live", **values):
    run = runs.start(session, incident_id=incident_id, mode=mode, actor=ADMIN, source=Source.API, where=None,
                     now=clock_module.now(), **values)
    session.commit()
    return run.id


def nothing_outside(session, step_config, playbook) -> runner.Surroundings:
    return runner.Surroundings()


def drive(session, run_id, *, factory=nothing_outside, limit: int = 20) -> list[int]:
    """Advance the run until it stops (done, failed, or waiting); the positions that ran."""
    ran = []
    for _ in range(limit):
        position = runner.advance(session, run_id=run_id, now=clock_module.now, context_factory=factory)
        if position is None:
            return ran
        ran.append(position)
    raise AssertionError("the run did not stop")
