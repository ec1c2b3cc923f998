"""Escalation decisions: given a policy, where an incident stands and the time, what happens next.

Pure: who a target resolves to (a rotation's on-call person, a user, a Slack channel) is asked of
the caller through `resolve`, so this module needs no database and is table-tested.

Rules:
- Steps run in order; after the last, the policy starts again from the first step up to `repeat`
  more times, then escalation is exhausted (the incident stays open and visible).
- A step whose `when` does not fit the moment (working hours or not) is passed over.
- A step whose targets resolve to nobody is skipped at once, not waited out.
- The first page of an incident whose class is deferred outside working hours waits until the
  next working period begins.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Literal, Sequence

WORKING_HOURS = "working_hours"
OUTSIDE_WORKING_HOURS = "outside_working_hours"
CHANNELS = ("sms", "slack")


@dataclass(frozen=True)
class Step:
    targets: tuple[str, ...]
    channels: tuple[str, ...]
    escalate_after: timedelta
    when: str | None = None

    def applies(self, working: bool) -> bool:
        return (self.when is None or (self.when == WORKING_HOURS) == working)


@dataclass(frozen=True)
class Policy:
    steps: tuple[Step, ...]
    repeat: int = 0
    defer_classes: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Recipient:
    """Someone (or some channel) a step pages: `key` is stable, e.g. 'user:12' or 'slack:#ops'."""

    key: str
    user_id: int | None
    label: str


@dataclass(frozen=True)
class Skip:
    step: int
    cycle: int
    reason: str


@dataclass(frozen=True)
class Decision:
    kind: Literal["page", "defer", "exhausted"]
    step: int = -1
    cycle: int = 0
    next_at: datetime | None = None
    recipients: tuple[Recipient, ...] = ()
    skipped: tuple[Skip, ...] = field(default_factory=tuple)


Resolver = Callable[[Step], Sequence[Recipient]]


def advance(policy: Policy, *, step: int, cycle: int, severity_class: int, working: bool,
            now: datetime, resolve: Resolver, next_working_start: Callable[[], datetime],
            jump: bool = False) -> Decision:
    """The next step to page after (`step`, `cycle`); `step` -1 means nothing was paged yet.

    `jump` marks a person's "escalate now", which never waits for working hours.
    """
    if step < 0 and not jump and not working and severity_class in policy.defer_classes:
        return Decision("defer", step, cycle, next_at=next_working_start())
    skipped: list[Skip] = []
    for index, round_ in _following(len(policy.steps), step, cycle, policy.repeat):
        candidate = policy.steps[index]
        if not candidate.applies(working):
            continue
        recipients = tuple(resolve(candidate))
        if not recipients:
            skipped.append(Skip(index, round_, "its targets resolve to nobody right now"))
            continue
        return Decision("page", index, round_, now + candidate.escalate_after, recipients, tuple(skipped))
    return Decision("exhausted", step, cycle, None, (), tuple(skipped))


def _following(count: int, step: int, cycle: int, repeat: int):
    """(step, cycle) pairs after the current one, in order, within the allowed repeats."""
    index, round_ = step + 1, cycle
    while round_ <= repeat and count:
        if index >= count:
            index, round_ = 0, round_ + 1
            continue
        yield index, round_
        index += 1
