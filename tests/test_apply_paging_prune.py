"""`vigil apply --prune` for paging: rotations and policies the file leaves out are deleted unless
something still uses them (then nothing changes and the error names them)."""
from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from incidents import clock
from incidents.models import Escalation, EscalationPolicy, Incident, Rotation, RotationOverride, Service
from incidents.services import oncall
from tests.test_apply import rows, summary, vigil, write  # noqa: F401  (fixtures)
from tests.test_apply_errors import errors
from tests.test_apply_prune import add_incident

USERS = """
    customers: [{slug: acme, name: Acme Retail}]
    users:
      - {email: ana@ops.example, name: Ana Silva, role: ops_engineer}
      - {email: ben@ops.example, name: Ben Okafor, role: ops_engineer}
"""
ROTATIONS = """
    rotations:
      - {name: triage, handoff: {day: mon, time: "09:00"}, start: 2026-11-02, members: [ana@ops.example]}
      - {name: nights, handoff: {day: mon, time: "09:00"}, start: 2026-11-02, members: [ben@ops.example]}
"""
POLICIES = """
    escalation_policies:
      - {name: default, steps: [{targets: [rotation:triage], channels: [sms], escalate_after: 5m}]}
      - {name: urgent, steps: [{targets: [rotation:nights], channels: [sms], escalate_after: 1m}]}
"""
SERVICES = """
    services:
      - {name: checkout, customer: acme, escalation_policy: default}
      - {name: messaging, customer: acme, escalation_policy: urgent}
"""
FULL = USERS + ROTATIONS + POLICIES + SERVICES
SMALLER = USERS + """
    rotations:
      - {name: triage, handoff: {day: mon, time: "09:00"}, start: 2026-11-02, members: [ana@ops.example]}
    escalation_policies:
      - {name: default, steps: [{targets: [rotation:triage], channels: [sms], escalate_after: 5m}]}
    services:
      - {name: checkout, customer: acme, escalation_policy: default}
"""
NIGHT = datetime(2026, 11, 3, 22, tzinfo=timezone.utc)


def doc(*parts: str) -> str:
    return "".join(textwrap.dedent(part) for part in parts)


def names(session, model) -> list[str]:
    return sorted(row.name for row in rows(session, model))


def add_override(session, rotation: str, email: str) -> None:
    oncall.add_override(session, rotation_name=rotation, user_email=email, start=NIGHT,
                        end=NIGHT + timedelta(hours=8), actor_label="test", now=clock.now())
    session.commit()


def test_without_prune_nothing_is_removed(vigil, write, session):
    vigil(write(FULL))

    result = vigil(write(SMALLER))

    assert result.exit_code == 0, result.output
    assert summary(result)["rotations"] == "1 unchanged"
    assert summary(result)["escalation_policies"] == "1 unchanged"
    assert names(session, Rotation) == ["nights", "triage"]
    assert names(session, EscalationPolicy) == ["default", "urgent"]


def test_prune_deletes_rotations_and_policies_the_file_leaves_out(vigil, write, session):
    vigil(write(FULL))
    add_override(session, "nights", "ana@ops.example")
    add_override(session, "triage", "ben@ops.example")

    result = vigil("--prune", write(SMALLER))

    assert result.exit_code == 0, result.output
    assert summary(result)["services"] == "1 unchanged, 1 deleted"
    assert summary(result)["escalation_policies"] == "1 unchanged, 1 deleted"
    assert summary(result)["rotations"] == "1 unchanged, 1 deleted"
    assert names(session, Rotation) == ["triage"]
    assert names(session, EscalationPolicy) == ["default"]
    assert [(o.rotation.name, o.user.email) for o in rows(session, RotationOverride)] == [
        ("triage", "ben@ops.example")]
    assert "Nothing changed." in vigil("--prune", write(SMALLER)).stdout


def test_prune_refuses_to_delete_a_policy_a_service_still_uses(vigil, write, session):
    vigil(write(FULL))

    result = vigil("--prune", write("""
        escalation_policies:
          - {name: default, steps: [{targets: [rotation:triage], channels: [sms], escalate_after: 5m}]}
    """))

    assert result.exit_code == 1
    assert errors(result) == ["escalation_policies: cannot delete 'urgent' (not in the file): services messaging "
                              "still use it; keep it in the file"]
    assert names(session, EscalationPolicy) == ["default", "urgent"]


def test_prune_refuses_to_delete_a_policy_an_incident_was_escalated_with(vigil, write, session):
    vigil(write(FULL))
    add_incident(session, service_name="messaging")
    incident = session.scalars(select(Incident)).one()
    urgent = session.scalars(select(EscalationPolicy).where(EscalationPolicy.name == "urgent")).one()
    session.add(Escalation(incident_id=incident.id, policy_id=urgent.id, step=0, cycle=0, next_at=None,
                           state="stopped", updated_at=clock.now()))
    session.commit()

    result = vigil("--prune", write(FULL.replace("escalation_policy: urgent", "escalation_policy: default")
                                    .replace(POLICIES.splitlines()[-1], "")))

    assert result.exit_code == 1
    assert errors(result) == ["escalation_policies: cannot delete 'urgent' (not in the file): 1 incident was "
                              "escalated with it; keep it in the file"]
    assert {s.name: s.escalation_policy_id for s in rows(session, Service)}["messaging"] == urgent.id


def test_prune_refuses_to_delete_a_rotation_a_policy_still_pages(vigil, write, session):
    vigil(write(FULL))

    result = vigil("--prune", write(doc(USERS, """
        rotations:
          - {name: triage, handoff: {day: mon, time: "09:00"}, start: 2026-11-02, members: [ana@ops.example]}
    """)))

    assert result.exit_code == 1
    assert errors(result) == ["rotations: cannot delete 'nights' (not in the file): escalation policies urgent "
                              "page it; keep it in the file"]
    assert names(session, Rotation) == ["nights", "triage"]


def test_with_prune_what_the_file_refers_to_must_be_in_the_file(vigil, write, session):
    vigil(write(FULL))

    result = vigil("--prune", write("""
        users:
          - {email: ana@ops.example, name: Ana Silva, role: ops_engineer}
        rotations:
          - {name: triage, handoff: {day: mon, time: "09:00"}, start: 2026-11-02,
             members: [ana@ops.example, ben@ops.example]}
        escalation_policies:
          - {name: default, steps: [{targets: [rotation:nights], channels: [sms], escalate_after: 5m}]}
        customers: [{slug: acme, name: Acme Retail}]
        services:
          - {name: checkout, customer: acme, escalation_policy: urgent}
    """))

    assert result.exit_code == 1
    assert errors(result) == [
        "rotations[0].members[1]: unknown user 'ben@ops.example' (with --prune, users must be in the file)",
        "escalation_policies[0].steps[0].targets[0]: unknown rotation 'nights' (with --prune, rotations must be "
        "in the file)",
        "services[0].escalation_policy: unknown escalation policy 'urgent' (with --prune, escalation_policies "
        "must be in the file)",
    ]
    assert names(session, Rotation) == ["nights", "triage"]


def test_prune_lets_a_policy_go_once_its_service_moves_to_another(vigil, write, session):
    vigil(write(FULL))

    result = vigil("--prune", write(doc(USERS, ROTATIONS, """
        escalation_policies:
          - {name: default, steps: [{targets: [rotation:triage, rotation:nights], channels: [sms], escalate_after: 5m}]}
        services:
          - {name: checkout, customer: acme, escalation_policy: default}
          - {name: messaging, customer: acme, escalation_policy: default}
    """)))

    assert result.exit_code == 0, result.output
    assert summary(result)["escalation_policies"] == "1 updated, 1 deleted"
    assert summary(result)["services"] == "1 updated, 1 unchanged"
    default = rows(session, EscalationPolicy)[0]
    assert {s.escalation_policy_id for s in rows(session, Service)} == {default.id}
