"""Heartbeats, end to end with a moved clock: a job that stops pinging opens one incident of the
heartbeat's class, which pages the on-call engineer; a ping resolves it; keys are checked first."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import workers.tasks.engine  # noqa: F401  (registers engine.tick)
from incidents.cli import main
from incidents.models import AuditEvent, EscalationPolicy, Heartbeat, Incident, IncidentEvent
from incidents.services import heartbeats
from incidents.services.keys import hash_key
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.test_apply import PUBLIC_URL, vigil, write  # noqa: F401
from tests.test_paging_flow import ANA, MONDAY_NIGHT, paging  # noqa: F401


@pytest.fixture
def beat(session, make, paging):  # noqa: F811
    """'nightly-backup' on checkout: every hour, 10 minutes' grace, class 2."""
    make.rules()
    service = make.service().service
    service.escalation_policy_id = session.scalar(select(EscalationPolicy.id))
    row, key = heartbeats.create(session, service=service, name="nightly-backup", title="Nightly backup did not run",
                                 severity_class=2, interval_seconds=3600, grace_seconds=600, now=MONDAY_NIGHT)
    session.commit()
    return key


def ping(paging, key, method="post"):  # noqa: F811
    return getattr(paging.app.test_client(), method)(f"/api/v1/heartbeats/{key}", data=b"backup ok")


def heartbeat_incidents(session):
    session.commit()
    session.expire_all()
    return session.scalars(select(Incident).where(Incident.dedup_key == "heartbeat:nightly-backup")).all()


def test_a_ping_in_time_opens_nothing(paging, beat, clock, session):  # noqa: F811
    clock.advance(minutes=50)
    response = ping(paging, beat)
    assert response.status_code == 202
    assert response.json["heartbeat"] == "nightly-backup"
    assert response.json["next_due_at"].startswith("2026-11-24T00:00:00")  # 22:50 + 1h + 10m
    clock.advance(minutes=60)  # 1h50 after configuration, 60 minutes after the ping: within grace
    paging.tick()
    assert heartbeat_incidents(session) == []


def test_silence_opens_one_incident_of_the_heartbeats_class_and_pages(paging, beat, clock, session, fake_twilio):  # noqa: F811
    clock.advance(minutes=69)
    paging.tick()
    assert heartbeat_incidents(session) == []
    clock.advance(minutes=2)  # past interval + grace
    paging.tick()
    [incident] = heartbeat_incidents(session)
    assert (incident.severity_class, incident.title, incident.status) == (2, "Nightly backup did not run", "triggered")
    [sms] = fake_twilio.bodies_to(ANA)
    assert sms.startswith(f"Vigil #{incident.id} C2 acme: Nightly backup did not run.")
    clock.advance(hours=3)  # still missing: no second incident, however often the engine ticks
    paging.tick()
    paging.tick()
    assert len(heartbeat_incidents(session)) == 1
    missed = session.scalars(select(IncidentEvent.message).where(IncidentEvent.incident_id == incident.id,
                                                                 IncidentEvent.kind == "heartbeat_missed")).all()
    assert missed == ["Heartbeat nightly-backup missed: no ping since it was configured at 2026-11-23 22:00:00 UTC"]


def test_a_ping_after_the_silence_resolves_the_incident(paging, beat, clock, session):  # noqa: F811
    clock.advance(hours=2)
    paging.tick()
    [incident] = heartbeat_incidents(session)
    clock.advance(minutes=5)
    assert ping(paging, beat, "get").status_code == 202
    [incident] = heartbeat_incidents(session)
    assert (incident.status, incident.resolved_by) == ("resolved", "heartbeat nightly-backup")
    last = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                           .order_by(IncidentEvent.id.desc())).first()
    assert last.kind == "resolved" and "the heartbeat pinged again at 2026-11-24 00:05:00 UTC" in last.message
    clock.advance(minutes=71)  # and a new silence is a new incident
    paging.tick()
    assert [i.status for i in heartbeat_incidents(session)] == ["resolved", "triggered"]


@pytest.mark.parametrize("key", ["not-a-key", "0" * 32])
def test_an_unknown_key_is_404_and_changes_nothing(paging, beat, session, key):  # noqa: F811
    response = ping(paging, key)
    assert response.status_code == 404
    assert "unknown heartbeat key" in response.json["error"]["message"]
    session.commit()
    assert session.scalar(select(func.count()).select_from(Heartbeat).where(Heartbeat.last_ping_at.is_not(None))) == 0


def test_a_rotated_key_stops_working(paging, beat, session):  # noqa: F811
    row, new_key = heartbeats.rotate_key(session, name="nightly-backup")
    session.commit()
    assert row.key_hash == hash_key(new_key) and beat != new_key
    assert ping(paging, beat).status_code == 404
    assert ping(paging, new_key).status_code == 202


def test_the_key_is_stored_hashed_only(beat, session):
    session.commit()
    row = session.scalars(select(Heartbeat)).one()
    assert row.key_hash == hash_key(beat) and beat not in (row.key_hash, row.key_hint)
    assert row.due_at == MONDAY_NIGHT + timedelta(minutes=70)


HEARTBEATS = """
    customers:
      - {slug: acme, name: Acme Retail}
    services:
      - {name: checkout, customer: acme}
    heartbeats:
      - {name: nightly-backup, service: checkout, interval: 24h, grace: 30m, class: 2,
         title: Nightly backup did not run}
"""


def test_vigil_apply_creates_a_heartbeat_and_shows_its_url_once(vigil, write, client, session):  # noqa: F811
    result = vigil(write(HEARTBEATS))
    assert result.exit_code == 0, result.output
    assert "heartbeats:" in result.stdout and "1 created" in result.stdout
    url = result.stdout.strip().splitlines()[-1].split("url: ")[1]
    assert url.startswith(f"{PUBLIC_URL}/api/v1/heartbeats/")
    assert client.post(url.removeprefix(PUBLIC_URL)).status_code == 202
    row = session.scalars(select(Heartbeat)).one()
    assert (row.interval_seconds, row.grace_seconds, row.severity_class) == (86400, 1800, 2)
    again = vigil(write(HEARTBEATS))
    assert "/api/v1/heartbeats/" not in again.stdout and "Nothing changed." in again.stdout


def test_a_changed_interval_keeps_the_key(vigil, write, session):  # noqa: F811
    first = json.loads(vigil("--output", "json", write(HEARTBEATS)).stdout)
    [issued] = first["heartbeats"]
    vigil(write(HEARTBEATS.replace("interval: 24h", "interval: 1h")))
    session.expire_all()
    row = session.scalars(select(Heartbeat)).one()
    assert row.interval_seconds == 3600 and row.key_hash == hash_key(issued["key"])


def test_bad_heartbeats_name_their_path_and_change_nothing(vigil, write, session):  # noqa: F811
    bad = HEARTBEATS.replace("service: checkout, interval: 24h, grace: 30m, class: 2",
                             "service: billing, interval: 10s, grace: soon, class: 4")
    result = vigil(write(bad))
    assert result.exit_code == 1
    errors = result.stderr
    assert "heartbeats[0].interval: must be from 60s to 31d, got '10s'" in errors
    assert "heartbeats[0].grace: invalid duration 'soon'" in errors
    assert "heartbeats[0].class: invalid severity class 4" in errors
    session.expire_all()
    assert session.scalars(select(Heartbeat)).all() == []


def test_an_unknown_service_is_refused(vigil, write, session):  # noqa: F811
    result = vigil(write(HEARTBEATS.replace("service: checkout, interval", "service: billing, interval")))
    assert result.exit_code == 1
    assert "heartbeats[0].service: unknown service 'billing'" in result.stderr


def test_prune_deletes_heartbeats_the_file_leaves_out(vigil, write, session):  # noqa: F811
    vigil(write(HEARTBEATS))
    result = vigil("--prune", write(HEARTBEATS.split("    heartbeats:")[0] + "    heartbeats: []\n"))
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.scalars(select(Heartbeat)).all() == []


def test_rotate_heartbeat_key_from_the_command_line(beat, test_config, paging, session):  # noqa: F811
    env = {"DATABASE_URL": test_config.database_url, "VIGIL_INSTANCE_PATH": str(test_config.instance_path),
           "SECRET_KEY": test_config.secret_key, "PUBLIC_URL": "http://vigil.example"}
    result = CliRunner().invoke(main, ["rotate-heartbeat-key", "nightly-backup"], env=env)
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[-1]
    assert ping(paging, beat).status_code == 404
    assert ping(paging, url.rsplit("/", 1)[1]).status_code == 202
    session.expire_all()
    [event] = session.scalars(select(AuditEvent)).all()
    assert (event.action, event.door, event.target) == ("heartbeat.rotate_key", "cli", "nightly-backup")
    assert CliRunner().invoke(main, ["rotate-heartbeat-key", "nope"], env=env).exit_code == 1
