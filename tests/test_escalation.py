"""Escalation decisions, table-tested with the example policy (pure)."""
from datetime import datetime, timedelta, timezone

import pytest

from incidents.domain.escalation import Policy, Recipient, Step, advance

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)
MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)

TRIAGE = Step(("rotation:triage",), ("slack", "sms"), timedelta(minutes=15), "working_hours")
ON_CALL = Step(("rotation:out-of-hours",), ("sms", "slack"), timedelta(minutes=10), "outside_working_hours")
LEE = Step(("user:lee@ops.example",), ("sms", "slack"), timedelta(minutes=15))
POLICY = Policy((TRIAGE, ON_CALL, LEE), repeat=2, defer_classes=frozenset({3}))

PEOPLE = {"rotation:triage": "cara", "rotation:out-of-hours": "ana", "user:lee@ops.example": "lee"}


def resolver(nobody=()):
    def resolve(step):
        return [Recipient(f"user:{PEOPLE[t]}", 1, PEOPLE[t]) for t in step.targets if t not in nobody]
    return resolve


def decide(step=-1, cycle=0, *, working=False, severity_class=1, nobody=(), jump=False):
    return advance(POLICY, step=step, cycle=cycle, severity_class=severity_class, working=working, now=NOW,
                   resolve=resolver(nobody), next_working_start=lambda: MORNING, jump=jump)


@pytest.mark.parametrize("working, step, cycle, expected", [
    (False, -1, 0, (1, 0, "ana", NOW + timedelta(minutes=10))),   # night: the on-call engineer first
    (True, -1, 0, (0, 0, "cara", NOW + timedelta(minutes=15))),   # day: the triage engineer first
    (False, 1, 0, (2, 0, "lee", NOW + timedelta(minutes=15))),    # then Lee, any time
    (False, 2, 0, (1, 1, "ana", NOW + timedelta(minutes=10))),    # then round again
    (True, 0, 2, (2, 2, "lee", NOW + timedelta(minutes=15))),
])
def test_next_step(working, step, cycle, expected):
    decision = decide(step, cycle, working=working)
    assert decision.kind == "page"
    assert (decision.step, decision.cycle, decision.recipients[0].label, decision.next_at) == expected


def test_exhausted_after_the_last_repeat():
    decision = decide(2, 2)
    assert decision.kind == "exhausted" and decision.next_at is None


def test_step_with_nobody_is_skipped_at_once_and_reported():
    decision = decide(nobody={"rotation:out-of-hours"})
    assert (decision.kind, decision.step, decision.recipients[0].label) == ("page", 2, "lee")
    assert [(s.step, s.cycle) for s in decision.skipped] == [(1, 0)]
    assert decision.next_at == NOW + timedelta(minutes=15)


def test_nobody_anywhere_is_exhausted_with_every_skip_listed():
    decision = decide(nobody=set(PEOPLE))
    assert decision.kind == "exhausted"
    assert [(s.step, s.cycle) for s in decision.skipped] == [(1, 0), (2, 0), (1, 1), (2, 1), (1, 2), (2, 2)]


def test_class_3_at_night_waits_for_working_hours():
    decision = decide(severity_class=3)
    assert (decision.kind, decision.next_at) == ("defer", MORNING)
    assert decide(severity_class=3, working=True).kind == "page"
    assert decide(severity_class=2).kind == "page"
    assert decide(severity_class=3, jump=True).kind == "page"  # a person's "escalate" does not wait


def test_policy_without_steps_is_exhausted():
    decision = advance(Policy(()), step=-1, cycle=0, severity_class=1, working=True, now=NOW,
                       resolve=resolver(), next_working_start=lambda: MORNING)
    assert decision.kind == "exhausted"
