"""`vigil apply` for paging: working_hours, rotations, escalation_policies and services[].escalation_policy
are stored in the form the engine reads, applying twice changes nothing, and overrides outlive a re-apply."""
from __future__ import annotations

import json
import textwrap
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from incidents import clock
from incidents.domain import working_hours as wh
from incidents.domain.escalation import Policy, Step
from incidents.models import EscalationPolicy, Rotation, RotationMember, RotationOverride, Service, Setting
from incidents.services import oncall
from incidents.services.engine import calendar
from incidents.services.engine.escalations import to_policy
from tests.test_apply import SAMPLE, rows, summary, vigil, write  # noqa: F401  (fixtures)

SAMPLE_STEPS = [
    {"targets": ["rotation:triage"], "channels": ["slack", "sms"], "escalate_after": 900, "when": "working_hours"},
    {"targets": ["rotation:out-of-hours"], "channels": ["sms", "slack"], "escalate_after": 600,
     "when": "outside_working_hours"},
    {"targets": ["user:lee@ops.example"], "channels": ["sms", "slack"], "escalate_after": 900, "when": None},
]
PAGING = """
    users:
      - {email: ana@ops.example, name: Ana Silva, role: ops_engineer}
      - {email: ben@ops.example, name: Ben Okafor, role: ops_engineer}
      - {email: cara@ops.example, name: Cara Lind, role: ops_engineer}
    rotations:
      - name: weekly
        timezone: Europe/London
        handoff: {day: mon, time: "09:00"}
        start: 2026-11-02
        members: [ana@ops.example, ben@ops.example]
    escalation_policies:
      - name: default
        steps:
          - {targets: [rotation:weekly], channels: [sms], escalate_after: 5m}
"""


def members(session, name: str) -> list[str]:
    rotation = session.scalars(select(Rotation).where(Rotation.name == name)).one()
    emails = [m.user.email for m in rotation.members]
    session.commit()
    return emails


def policy(session, name: str = "default") -> EscalationPolicy:
    row = session.scalars(select(EscalationPolicy).where(EscalationPolicy.name == name)).one()
    session.commit()
    return row


def test_sample_stores_working_hours_as_the_calendar_reads_them(vigil, session):
    vigil(str(SAMPLE))

    assert session.get(Setting, "working_hours").value == {
        "timezone": "Europe/London", "days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:30",
        "holidays": ["2026-12-25", "2026-12-26", "2027-01-01"]}
    assert calendar.load(session) == wh.WorkingHours(
        "Europe/London", frozenset({0, 1, 2, 3, 4}), time(9), time(17, 30),
        frozenset({date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)}))
    christmas = datetime(2026, 12, 25, 12, tzinfo=timezone.utc)
    assert not calendar.working_now(session, christmas)
    assert calendar.working_now(session, christmas - timedelta(days=1))


def test_sample_stores_rotations_with_their_members_in_order(vigil, session):
    vigil(str(SAMPLE))

    stored = {r.name: (r.timezone, r.handoff_weekday, r.handoff_time, r.start_date)
              for r in rows(session, Rotation)}
    assert stored == {"out-of-hours": ("Europe/London", 0, "09:00", date(2026, 11, 2)),
                      "triage": ("Europe/London", 0, "09:00", date(2026, 11, 2))}
    assert members(session, "out-of-hours") == ["ana@ops.example", "ben@ops.example", "cara@ops.example"]
    assert members(session, "triage") == ["cara@ops.example", "ana@ops.example", "ben@ops.example"]
    assert [m.position for m in rows(session, RotationMember)] == [0, 1, 2, 0, 1, 2]
    rotation = oncall.get(session, "out-of-hours")
    week_two = datetime(2026, 11, 10, 12, tzinfo=timezone.utc)
    assert oncall.oncall_at(session, rotation, week_two)[0].email == "ben@ops.example"


def test_sample_stores_the_policy_steps_as_the_engine_reads_them(vigil, session):
    vigil(str(SAMPLE))

    row = policy(session)
    assert (row.repeat, row.defer_classes, row.steps) == (2, [3], SAMPLE_STEPS)
    assert to_policy(row) == Policy(
        (Step(("rotation:triage",), ("slack", "sms"), timedelta(minutes=15), "working_hours"),
         Step(("rotation:out-of-hours",), ("sms", "slack"), timedelta(minutes=10), "outside_working_hours"),
         Step(("user:lee@ops.example",), ("sms", "slack"), timedelta(minutes=15), None)),
        repeat=2, defer_classes=frozenset({3}))


def test_sample_links_each_service_to_its_policy(vigil, session):
    vigil(str(SAMPLE))

    default = policy(session)
    assert {s.name: s.escalation_policy_id for s in rows(session, Service)} == {
        "checkout": default.id, "messaging": default.id}


def test_applying_paging_twice_keeps_the_same_rows(vigil, write, session):
    vigil(write(PAGING))
    before = [(m.id, m.user_id) for m in rows(session, RotationMember)]

    again = vigil(write(PAGING))

    assert summary(again) == {"users": "3 unchanged", "rotations": "1 unchanged",
                              "escalation_policies": "1 unchanged"}
    assert "Nothing changed." in again.stdout
    assert [(m.id, m.user_id) for m in rows(session, RotationMember)] == before


def test_changed_members_replace_the_member_rows_and_overrides_survive(vigil, write, session):
    vigil(write(PAGING))
    start = datetime(2026, 11, 3, 18, tzinfo=timezone.utc)
    oncall.add_override(session, rotation_name="weekly", user_email="cara@ops.example", start=start,
                        end=start + timedelta(hours=12), actor_label="Ben", now=clock.now())
    session.commit()

    result = vigil(write(PAGING.replace("[ana@ops.example, ben@ops.example]",
                                        "[ben@ops.example, cara@ops.example, ana@ops.example]")))

    assert result.exit_code == 0, result.output
    assert summary(result)["rotations"] == "1 updated"
    assert members(session, "weekly") == ["ben@ops.example", "cara@ops.example", "ana@ops.example"]
    overrides = rows(session, RotationOverride)
    assert [(o.user.email, o.start, o.created_by) for o in overrides] == [("cara@ops.example", start, "Ben")]
    rotation = oncall.get(session, "weekly")
    assert oncall.oncall_at(session, rotation, start + timedelta(hours=1))[0].email == "cara@ops.example"
    assert oncall.oncall_at(session, rotation, start - timedelta(hours=1))[0].email == "ben@ops.example"


def test_changed_rotation_fields_and_policy_steps_are_updated(vigil, write, session):
    vigil(write(PAGING))

    result = vigil(write(PAGING.replace('{day: mon, time: "09:00"}', '{day: friday, time: "17:00"}')
                         .replace("channels: [sms], escalate_after: 5m",
                                  "channels: [slack, sms], escalate_after: 90s, when: working_hours")))

    assert summary(result)["rotations"] == "1 updated"
    assert summary(result)["escalation_policies"] == "1 updated"
    rotation = rows(session, Rotation)[0]
    assert (rotation.handoff_weekday, rotation.handoff_time) == (4, "17:00")
    assert policy(session).steps == [{"targets": ["rotation:weekly"], "channels": ["slack", "sms"],
                                      "escalate_after": 90, "when": "working_hours"}]


def test_a_service_that_names_no_policy_has_none(vigil, session, write):
    vigil(str(SAMPLE))

    result = vigil(write("""
        services:
          - {name: checkout, customer: acme, auto_resolve: true, integrations: [{name: prometheus, type: alertmanager}]}
          - {name: messaging, customer: globex, escalation_policy: default}
    """))

    assert result.exit_code == 0, result.output
    assert summary(result)["services"] == "1 updated, 1 unchanged"
    links = {s.name: s.escalation_policy_id for s in rows(session, Service)}
    assert links == {"checkout": None, "messaging": policy(session).id}


def test_references_may_name_what_is_already_in_the_database(vigil, write, session):
    vigil(write(PAGING))

    result = vigil(write("""
        rotations:
          - {name: nights, handoff: {day: sun, time: "20:00"}, start: 2026-11-01, members: [cara@ops.example]}
        escalation_policies:
          - name: nights
            steps:
              - {targets: [rotation:nights, rotation:weekly, user:Ana@Ops.Example, "slack:#ops"],
                 channels: [slack], escalate_after: 10m}
        services:
          - {name: checkout, customer: acme, escalation_policy: default}
        customers: [{slug: acme, name: Acme}]
    """))

    assert result.exit_code == 0, result.output
    assert policy(session, "nights").steps[0]["targets"] == [
        "rotation:nights", "rotation:weekly", "user:ana@ops.example", "slack:#ops"]
    assert rows(session, Service)[0].escalation_policy_id == policy(session).id


def test_a_rotation_without_a_timezone_takes_the_files_else_the_stored_else_utc(vigil, write, session):
    rotation = """
        rotations:
          - {name: weekly, handoff: {day: mon, time: "09:00"}, start: 2026-11-02, members: [ana@ops.example]}
        users: [{email: ana@ops.example, name: Ana, role: ops_engineer}]
    """
    vigil(write(rotation))
    assert rows(session, Rotation)[0].timezone == "UTC"

    assert vigil(write("timezone: America/New_York\n" + textwrap.dedent(rotation))).exit_code == 0
    assert rows(session, Rotation)[0].timezone == "America/New_York"

    vigil(write("timezone: Europe/Paris"))
    result = vigil(write(rotation))
    assert summary(result)["rotations"] == "1 updated"
    assert rows(session, Rotation)[0].timezone == "Europe/Paris"


def test_working_hours_without_a_timezone_take_the_files(vigil, write, session):
    vigil(write("""
        timezone: Asia/Tokyo
        working_hours: {days: [Monday, tue], start: "08:30", end: "18:00"}
    """))

    assert session.get(Setting, "working_hours").value == {
        "timezone": "Asia/Tokyo", "days": [0, 1], "start": "08:30", "end": "18:00", "holidays": []}


def test_changed_working_hours_are_updated_and_left_alone_when_absent(vigil, write, session):
    vigil(str(SAMPLE))

    changed = vigil(write('working_hours: {timezone: Europe/London, days: [mon, tue], start: "10:00", end: "16:00"}'))
    assert summary(changed) == {"working_hours": "1 updated"}
    absent = vigil("--prune", write("timezone: Europe/London"))
    assert summary(absent) == {"timezone": "1 unchanged"}
    assert session.get(Setting, "working_hours").value["days"] == [0, 1]


def test_json_output_counts_the_paging_sections(vigil, session):
    document = json.loads(vigil("--output", "json", str(SAMPLE)).stdout)

    assert document["warnings"] == []
    assert document["changes"]["working_hours"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert document["changes"]["rotations"] == {"created": 2, "updated": 0, "unchanged": 0, "deleted": 0}
    assert document["changes"]["escalation_policies"] == {"created": 1, "updated": 0, "unchanged": 0, "deleted": 0}


def test_when_and_deferral_without_working_hours_are_warned_about(vigil, write, session):
    result = vigil(write(PAGING.replace("escalate_after: 5m}", "escalate_after: 5m, when: outside_working_hours}")
                         .replace("      - name: default\n", "      - name: default\n        "
                                                             "defer_outside_working_hours: [3]\n")))

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: escalation_policies[0].defer_outside_working_hours: no working_hours are configured, so every "
        "moment counts as working time and nothing is deferred",
        "warning: escalation_policies[0].steps[0].when: no working_hours are configured, so every moment counts "
        "as working time",
    ]
    assert policy(session).defer_classes == [3]
