"""`vigil apply FILE`: the sample applies, applying twice changes nothing, keys are shown once."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import incidents
from incidents.cli import main
from incidents.models import ClassificationRule, Customer, Integration, Service, Setting, User
from incidents.services.keys import hash_key
from tests.helpers import bearer

SAMPLE = Path(incidents.__file__).parent / "sample" / "vigil.yaml"
PUBLIC_URL = "http://vigil.example:8080"
SAMPLE_WARNINGS: list[str] = []  # the external rotations are commented out, so no drill target is missing
SMALL = """
    customers:
      - {slug: acme, name: Acme Retail, sla: {1: 60m}}
    services:
      - name: checkout
        customer: acme
        integrations:
          - {name: prometheus, type: alertmanager}
          - {name: scripts, type: generic}
"""


@pytest.fixture
def vigil(app, monkeypatch, database_url, tmp_path, session):
    """Run `vigil apply ARGS...` as a user would (`app` so tables are emptied after the test)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("PUBLIC_URL", PUBLIC_URL)
    runner = CliRunner()

    def run(*args: str):
        session.close()  # hold no transaction (and no SQLite lock) while the command writes
        result = runner.invoke(main, ["apply", *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return run


@pytest.fixture
def write(tmp_path):
    """Write a vigil.yaml (dedented) and return its path."""
    def write_file(text: str, name: str = "vigil.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return str(path)
    return write_file


def rows(session, model, order_by=None):
    """Every row of a model, read in a transaction that is then ended."""
    result = list(session.scalars(select(model).order_by(order_by if order_by is not None else model.id)))
    session.commit()
    return result


def summary(result) -> dict[str, str]:
    """The text summary as {section: "2 created, 1 unchanged"}."""
    head = result.stdout.split("\n\n", 1)[0].splitlines()
    return {section: counts.strip() for section, counts in (line.split(":", 1) for line in head if ":" in line)}


def test_sample_file_applies_with_only_the_expected_warnings(vigil, session):
    result = vigil(str(SAMPLE))

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == SAMPLE_WARNINGS
    assert summary(result) == {
        "timezone": "1 created", "working_hours": "1 created", "sla": "1 created", "customers": "2 created",
        "users": "5 created", "classification": "7 created", "rotations": "2 created",
        "escalation_policies": "1 created", "services": "2 created", "integrations": "5 created",
        "breach_playbook": "1 created",
    }
    assert session.get(Setting, "sla").value == {"1": 120, "2": 360, "3": 2880}
    assert session.get(Setting, "timezone").value == {"name": "Europe/London"}
    acme, globex = rows(session, Customer, Customer.slug)
    assert (acme.name, acme.sla_minutes, acme.uptime_target) == ("Acme Retail", {"1": 60, "2": 240, "3": 1440}, 99.98)
    assert acme.contacts == [{"name": "Dana Reyes", "email": "dana@acme.example", "phone": "+15005550006"}]
    assert (globex.sla_minutes, globex.uptime_target) == ({}, None)


def test_sample_stores_users_rules_and_services(vigil, session):
    vigil(str(SAMPLE))

    users = {u.email: u for u in rows(session, User)}
    assert sorted(users) == ["ana@ops.example", "ben@ops.example", "cara@ops.example", "lee@ops.example",
                             "viv@ops.example"]
    ana = users["ana@ops.example"]
    assert (ana.name, ana.role, ana.phone, ana.slack_user_id, ana.timezone, ana.active) == (
        "Ana Silva", "ops_engineer", "+15005550001", "U0ANA", "Europe/London", True)
    assert (users["viv@ops.example"].role, users["viv@ops.example"].phone) == ("viewer", None)
    rules = rows(session, ClassificationRule, ClassificationRule.position)
    assert [(r.position, r.name, r.severity_class) for r in rules][:2] == [
        (0, "security breach", 1), (1, "outage", 1)]
    assert rules[-1].name == "everything else" and rules[-1].match == {}
    assert rules[5].match == {"any": [{"text_any": ["slow", "latency", "timeout", "performance"]},
                                      {"severity": ["error"]}]}
    services = {s.name: s for s in rows(session, Service)}
    assert services["checkout"].auto_resolve is True and services["messaging"].auto_resolve is False
    assert services["checkout"].customer.slug == "acme"
    assert sorted((i.name, i.type) for i in services["checkout"].integrations) == [
        ("grafana", "grafana"), ("pd-compatible", "pagerduty"), ("prometheus", "alertmanager"),
        ("scripts", "generic")]


def test_new_keys_are_printed_once_with_their_intake_url_and_work(vigil, session, client):
    result = vigil(str(SAMPLE))

    lines = result.stdout.splitlines()
    start = lines.index("  checkout/scripts (generic)")
    assert lines[start + 1] == f"    url: {PUBLIC_URL}/api/v1/alerts"
    key = lines[start + 2].removeprefix("    key: ")
    stored = {i.name: i for i in rows(session, Integration)}
    assert stored["scripts"].key_hash == hash_key(key)
    assert f"    url: {PUBLIC_URL}/v2/enqueue" in lines
    assert sum(line.startswith("    key: ") for line in lines) == 5
    response = client.post("/api/v1/alerts", headers=bearer(key),
                           json={"summary": "Checkout is down", "source": "test", "severity": "critical"})
    assert response.status_code == 202, response.json


def test_applying_twice_changes_nothing_and_prints_no_keys(vigil, session):
    vigil(str(SAMPLE))
    hashes = {(i.service_id, i.name): i.key_hash for i in rows(session, Integration)}

    again = vigil(str(SAMPLE))

    assert again.exit_code == 0, again.output
    assert summary(again) == {
        "timezone": "1 unchanged", "working_hours": "1 unchanged", "sla": "1 unchanged",
        "customers": "2 unchanged", "users": "5 unchanged", "classification": "7 unchanged",
        "rotations": "2 unchanged", "escalation_policies": "1 unchanged", "services": "2 unchanged",
        "integrations": "5 unchanged", "breach_playbook": "1 unchanged",
    }
    assert "Nothing changed." in again.stdout
    assert "key:" not in again.stdout
    assert {(i.service_id, i.name): i.key_hash for i in rows(session, Integration)} == hashes


def test_json_output_is_one_document_with_keys_changes_and_warnings(vigil, session):
    result = vigil("--output", "json", str(SAMPLE))

    assert result.exit_code == 0
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert set(document) == {"integrations", "heartbeats", "changes", "warnings"}
    assert document["warnings"] == [w.removeprefix("warning: ") for w in SAMPLE_WARNINGS]
    assert document["changes"]["customers"] == {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}
    assert document["changes"]["integrations"] == {"created": 5, "updated": 0, "unchanged": 0, "revoked": 0}
    first = document["integrations"][0]
    assert {k: v for k, v in first.items() if k != "key"} == {
        "service": "checkout", "name": "prometheus", "type": "alertmanager",
        "url": f"{PUBLIC_URL}/api/v1/alerts/alertmanager"}
    stored = {i.name: i.key_hash for i in rows(session, Integration)}
    assert all(stored[i["name"]] == hash_key(i["key"]) for i in document["integrations"])

    again = json.loads(vigil("--output", "json", str(SAMPLE)).stdout)
    assert again["integrations"] == []
    assert again["changes"]["services"] == {"created": 0, "updated": 0, "unchanged": 2, "deleted": 0}


def test_changed_fields_are_updated_and_integrations_keep_their_keys(vigil, write, session):
    vigil(write(SMALL))
    before = {i.name: i.key_hash for i in rows(session, Integration)}

    result = vigil(write("""
        customers:
          - {slug: acme, name: Acme Stores, sla: {1: 60m}}
        services:
          - name: checkout
            customer: acme
            auto_resolve: true
            integrations:
              - {name: prometheus, type: alertmanager}
              - {name: scripts, type: pagerduty}
    """))

    assert result.exit_code == 0, result.output
    assert summary(result)["customers"] == "1 updated"
    assert summary(result)["integrations"] == "1 updated, 1 unchanged"
    assert "key:" not in result.stdout
    assert [c.name for c in rows(session, Customer)] == ["Acme Stores"]
    after = {i.name: (i.type, i.key_hash) for i in rows(session, Integration)}
    assert after == {"prometheus": ("alertmanager", before["prometheus"]),
                     "scripts": ("pagerduty", before["scripts"])}
    assert rows(session, Service)[0].auto_resolve is True


def test_a_service_may_name_a_customer_already_in_the_database(vigil, write, make, session):
    make.customer("initech")

    result = vigil(write("services: [{name: billing, customer: initech}]"))

    assert result.exit_code == 0, result.output
    assert [(s.name, s.customer.slug) for s in rows(session, Service)] == [("billing", "initech")]


def test_user_emails_are_stored_lower_case_and_matched_case_insensitively(vigil, write, session):
    vigil(write("users: [{email: Ana@Ops.Example, name: Ana, role: responder}]"))
    result = vigil(write("users: [{email: ANA@ops.example, name: Ana, role: responder}]"))

    assert summary(result)["users"] == "1 unchanged"
    assert [u.email for u in rows(session, User)] == ["ana@ops.example"]


def test_sections_the_file_leaves_out_are_left_alone(vigil, write, make, session):
    make.rules()
    make.user("zoe@ops.example")

    result = vigil(write("timezone: UTC"))

    assert summary(result) == {"timezone": "1 created"}
    assert len(rows(session, ClassificationRule)) == 7
    assert [u.email for u in rows(session, User)] == ["zoe@ops.example"]
