"""`vigil apply` errors in the paging sections: each names its path in the file and nothing is stored."""
from __future__ import annotations

import copy

import pytest
import yaml

from incidents.models import (Customer, EscalationPolicy, Rotation, RotationMember, Service, Setting, User)
from tests.test_apply import vigil, write  # noqa: F401  (fixtures)
from tests.test_apply_errors import errors

VALID = {
    "timezone": "Europe/London",
    "working_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:30",
                      "holidays": ["2026-12-25"]},
    "users": [{"email": "ana@ops.example", "name": "Ana Silva", "role": "ops_engineer"},
              {"email": "ben@ops.example", "name": "Ben Okafor", "role": "ops_engineer"}],
    "customers": [{"slug": "acme", "name": "Acme Retail"}],
    "rotations": [{"name": "triage", "handoff": {"day": "mon", "time": "09:00"}, "start": "2026-11-02",
                   "members": ["ana@ops.example", "ben@ops.example"]}],
    "escalation_policies": [{"name": "default", "repeat": 1, "defer_outside_working_hours": [3], "steps": [
        {"targets": ["rotation:triage"], "channels": ["slack", "sms"], "escalate_after": "15m",
         "when": "working_hours"},
        {"targets": ["user:ben@ops.example", "slack:#ops"], "channels": ["slack"], "escalate_after": "10m"}]}],
    "services": [{"name": "checkout", "customer": "acme", "escalation_policy": "default"}],
}
HOURS, ROTATION, POLICY = "working_hours", "rotations[0]", "escalation_policies[0]"
STEP = f"{POLICY}.steps[0]"


def broken(change) -> str:
    document = copy.deepcopy(VALID)
    change(document)
    return yaml.safe_dump(document, sort_keys=False)


def wh(d):
    return d["working_hours"]


def rot(d):
    return d["rotations"][0]


def pol(d):
    return d["escalation_policies"][0]


def step(d, index=0):
    return pol(d)["steps"][index]


CASES = [
    # working_hours
    ("hours timezone", lambda d: wh(d).update(timezone="Europe/Lundon"),
     f"{HOURS}.timezone: unknown time zone 'Europe/Lundon'; expected an IANA name like 'Europe/London'"),
    ("no days", lambda d: wh(d).update(days=[]),
     f"{HOURS}.days: expected a list of days, like [mon, tue, wed, thu, fri]"),
    ("day twice", lambda d: wh(d).update(days=["mon", "mon"]),
     f"{HOURS}.days: a day is listed twice in ['mon', 'mon']"),
    ("unknown day", lambda d: wh(d).update(days=["mon", "mondy"]),
     f"{HOURS}.days: unknown day 'mondy'; expected one of mon, tue, wed, thu, fri, sat, sun"),
    ("end before start", lambda d: wh(d).update(start="17:30", end="09:00"),
     f"{HOURS}.end: 09:00 must be after start 17:30; working hours cannot cross midnight"),
    ("unquoted time", lambda d: wh(d).update(start=540),
     f'{HOURS}.start: invalid time 540 (put the time in quotes: "09:00"); expected 24-hour HH:MM, like "09:00"'),
    ("bad time", lambda d: wh(d).update(end="25:00"),
     f'{HOURS}.end: invalid time \'25:00\'; expected 24-hour HH:MM, like "09:00"'),
    ("holiday", lambda d: wh(d).update(holidays=["2026-13-01"]),
     f"{HOURS}.holidays: invalid date '2026-13-01'; expected YYYY-MM-DD, like 2026-12-25"),
    ("hours key", lambda d: wh(d).update(hollidays=[]), f"{HOURS}.hollidays: unknown key; did you mean 'holidays'?"),
    ("hours missing", lambda d: wh(d).pop("end"), f"{HOURS}.end: required"),
    # rotations
    ("rotation name", lambda d: d["rotations"].append({**rot(d), "name": "Out of Hours"}),
     "rotations[1].name: invalid 'Out of Hours'; use lower-case letters, digits, '-' and '_' "
     "(the name is part of URLs and targets)"),
    ("rotation timezone", lambda d: rot(d).update(timezone="Mars/Olympus"),
     f"{ROTATION}.timezone: unknown time zone 'Mars/Olympus'; expected an IANA name like 'Europe/London'"),
    ("handoff day", lambda d: rot(d)["handoff"].update(day="funday"),
     f"{ROTATION}.handoff.day: unknown day 'funday'; expected one of mon, tue, wed, thu, fri, sat, sun"),
    ("handoff time", lambda d: rot(d)["handoff"].update(time="9am"),
     f'{ROTATION}.handoff.time: invalid time \'9am\'; expected 24-hour HH:MM, like "09:00"'),
    ("handoff key", lambda d: rot(d)["handoff"].update(hour=9),
     f"{ROTATION}.handoff.hour: unknown key; expected one of day, time"),
    ("handoff text", lambda d: rot(d).update(handoff="monday"),
     f'{ROTATION}.handoff: expected a mapping like {{day: mon, time: "09:00"}}, got text'),
    ("start date", lambda d: rot(d).update(start="2026-02-30"),
     f"{ROTATION}.start: invalid date '2026-02-30'; expected YYYY-MM-DD, like 2026-11-02"),
    ("no members", lambda d: rot(d).update(members=[]), f"{ROTATION}.members: a rotation needs at least one member"),
    ("unknown member", lambda d: rot(d)["members"].append("cara@ops.example"),
     f"{ROTATION}.members[2]: unknown user 'cara@ops.example'"),
    ("member twice", lambda d: rot(d)["members"].append("ANA@ops.example"),
     f"{ROTATION}.members[2]: duplicate member 'ana@ops.example' (first at {ROTATION}.members[0])"),
    ("member email", lambda d: rot(d)["members"].append("ana"),
     f"{ROTATION}.members[2]: invalid 'ana'; expected an e-mail address"),
    ("rotation twice", lambda d: d["rotations"].append(copy.deepcopy(rot(d))),
     f"rotations[1].name: duplicate rotation 'triage' (first at {ROTATION}.name)"),
    ("rotation overrides", lambda d: rot(d).update(overrides=[]),
     f"{ROTATION}.overrides: unknown key; expected one of name, handoff, start, members, timezone"),
    # escalation_policies
    ("no steps", lambda d: pol(d).update(steps=[]), f"{POLICY}.steps: a policy needs at least one step"),
    ("repeat", lambda d: pol(d).update(repeat=-1), f"{POLICY}.repeat: expected a whole number from 0 to 100, got -1"),
    ("defer class", lambda d: pol(d).update(defer_outside_working_hours=[3, 4]),
     f"{POLICY}.defer_outside_working_hours[1]: invalid severity class 4; expected 1, 2 or 3"),
    ("policy twice", lambda d: d["escalation_policies"].append(copy.deepcopy(pol(d))),
     f"escalation_policies[1].name: duplicate escalation policy 'default' (first at {POLICY}.name)"),
    ("target kind", lambda d: step(d).update(targets=["team:ops"]),
     f"{STEP}.targets[0]: invalid target 'team:ops'; expected rotation:NAME, user:EMAIL or slack:CHANNEL"),
    ("target as mapping", lambda d: step(d).update(targets=[{"rotation": "triage"}]),
     f"{STEP}.targets[0]: expected text, got a mapping; write rotation:triage with no space after the colon"),
    ("unknown rotation", lambda d: step(d).update(targets=["rotation:triag"]),
     f"{STEP}.targets[0]: unknown rotation 'triag'"),
    ("unknown user", lambda d: step(d, 1).update(targets=["user:lee@ops.example"]),
     f"{POLICY}.steps[1].targets[0]: unknown user 'lee@ops.example'"),
    ("slack channel", lambda d: step(d, 1).update(targets=["slack:#Ops Room"]),
     f"{POLICY}.steps[1].targets[0]: invalid Slack channel '#Ops Room'; expected a channel name like #ops "
     "or an ID like C024BE91L"),
    ("slack over sms", lambda d: step(d, 1).update(channels=["sms"]),
     f"{POLICY}.steps[1].targets[1]: slack:#ops is a Slack channel, paged over slack only; add slack to channels"),
    ("target twice", lambda d: step(d).update(targets=["rotation:triage", "rotation:triage"]),
     f"{STEP}.targets[1]: duplicate target 'rotation:triage' (first at {STEP}.targets[0])"),
    ("no targets", lambda d: step(d).update(targets=[]),
     f"{STEP}.targets: a step needs at least one target; expected rotation:NAME, user:EMAIL or slack:CHANNEL"),
    ("channel", lambda d: step(d).update(channels=["sms", "email"]),
     f"{STEP}.channels[1]: invalid 'email'; expected one of sms, slack"),
    ("no channels", lambda d: step(d).update(channels=[]),
     f"{STEP}.channels: a step needs at least one channel; expected sms and/or slack"),
    ("channel twice", lambda d: step(d).update(channels=["sms", "sms"]),
     f"{STEP}.channels[1]: duplicate channel 'sms' (first at {STEP}.channels[0])"),
    ("escalate_after", lambda d: step(d).update(escalate_after="15 minutes"),
     f"{STEP}.escalate_after: invalid duration '15 minutes': expected a number and a unit s, m, h or d, "
     "like '90s', '15m', '6h', '2d'"),
    ("escalate_after missing", lambda d: step(d).pop("escalate_after"), f"{STEP}.escalate_after: required"),
    ("when", lambda d: step(d).update(when="nights"),
     f"{STEP}.when: invalid 'nights'; expected one of working_hours, outside_working_hours"),
    ("step key", lambda d: step(d).update(escalate_afer="5m"),
     f"{STEP}.escalate_afer: unknown key; did you mean 'escalate_after'?"),
    # services[].escalation_policy
    ("unknown policy", lambda d: d["services"][0].update(escalation_policy="defualt"),
     "services[0].escalation_policy: unknown escalation policy 'defualt'"),
]


def assert_nothing_stored(session) -> None:
    for model in (Setting, User, Customer, Rotation, RotationMember, EscalationPolicy, Service):
        assert session.query(model).count() == 0, model.__name__
    session.commit()


def test_the_valid_document_applies(vigil, write):
    result = vigil(write(broken(lambda d: None)))

    assert result.exit_code == 0, result.output
    assert result.stderr == ""


@pytest.mark.parametrize("change, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_error_names_its_path_and_nothing_is_stored(vigil, write, session, change, expected):
    path = write(broken(change))

    result = vigil(path)

    assert result.exit_code == 1
    assert errors(result) == [expected]
    assert result.stderr.splitlines()[-1] == f"vigil apply: 1 error in {path}; nothing was changed"
    assert_nothing_stored(session)


def test_every_paging_error_is_reported_at_once(vigil, write, session):
    result = vigil(write("""
        working_hours: {days: [mon], start: "18:00", end: "09:00"}
        rotations:
          - {name: triage, handoff: {day: mon}, start: 2026-11-02, members: [ana@ops.example]}
        escalation_policies:
          - name: default
            steps:
              - {targets: [rotation:triage, rotation:nights], channels: [pager], escalate_after: 0m}
        services:
          - {name: checkout, customer: acme, escalation_policy: urgent}
    """))

    assert result.exit_code == 1
    assert errors(result) == [
        "working_hours.end: 09:00 must be after start 18:00; working hours cannot cross midnight",
        "rotations[0].handoff.time: required",
        "escalation_policies[0].steps[0].channels[0]: invalid 'pager'; expected one of sms, slack",
        "escalation_policies[0].steps[0].escalate_after: invalid duration '0m': must be longer than zero",
        "services[0].customer: unknown customer 'acme'",
        "rotations[0].members[0]: unknown user 'ana@ops.example'",
        "escalation_policies[0].steps[0].targets[1]: unknown rotation 'nights'",
        "services[0].escalation_policy: unknown escalation policy 'urgent'",
    ]
    assert_nothing_stored(session)


def test_a_deactivated_user_cannot_be_a_member_or_a_target(vigil, write, make, session):
    make.user("zoe@ops.example", active=False)

    result = vigil(write("""
        rotations:
          - {name: triage, handoff: {day: mon, time: "09:00"}, start: 2026-11-02, members: [zoe@ops.example]}
        escalation_policies:
          - {name: default, steps: [{targets: [user:zoe@ops.example], channels: [sms], escalate_after: 5m}]}
    """))

    assert errors(result) == [
        "rotations[0].members[0]: user 'zoe@ops.example' is deactivated; list them under users to make them "
        "active again",
        "escalation_policies[0].steps[0].targets[0]: user 'zoe@ops.example' is deactivated; list them under "
        "users to make them active again",
    ]
    assert session.query(Rotation).count() == 0
