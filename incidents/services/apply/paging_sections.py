"""Parsers for the paging sections of vigil.yaml: working_hours, rotations and escalation_policies.

Each value is checked on its own here; references (rotation members and user targets to users,
rotation targets to rotations, a service's policy) are checked against the file and the database
in references.py.
"""
from __future__ import annotations

import re
from datetime import time
from typing import Any

from incidents.domain import rotation as rotation_rules
from incidents.domain import working_hours as wh
from incidents.domain.escalation import CHANNELS, OUTSIDE_WORKING_HOURS, WORKING_HOURS
from incidents.services.apply import fields
from incidents.services.apply.fields import SLUG, Keys, Problems
from incidents.services.apply.specs import PolicySpec, RotationSpec, StepSpec, WorkingHoursSpec

HOURS = Keys(required=("days", "start", "end"), optional=("timezone", "holidays"))
ROTATION = Keys(required=("name", "handoff", "start", "members"), optional=("timezone",))
HANDOFF = Keys(required=("day", "time"))
POLICY = Keys(required=("name", "steps"), optional=("repeat", "defer_outside_working_hours"))
STEP = Keys(required=("targets", "channels", "escalate_after"), optional=("when",))
WHEN = (WORKING_HOURS, OUTSIDE_WORKING_HOURS)
TARGET_KINDS = ("rotation", "user", "slack")
TARGET_HINT = "expected rotation:NAME, user:EMAIL or slack:CHANNEL"
# A channel name (lower-case, as Slack makes them, with or without '#') or a channel ID.
SLACK_CHANNEL = re.compile(r"^(#?[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{6,20})$")
ROTATION_NAME_HINT = "use lower-case letters, digits, '-' and '_' (the name is part of URLs and targets)"
MAX_REPEAT = 100


# --- working_hours ---------------------------------------------------------------------------------

def parse_working_hours(p: Problems, path: str, value: Any) -> WorkingHoursSpec | None:
    """The working week; None when anything is wrong (the errors are recorded)."""
    raw = fields.mapping(p, path, value, HOURS, what="a mapping with timezone, days, start, end and holidays")
    if raw is None:
        return None
    before = len(p.errors)
    zone = fields.timezone(p, f"{path}.timezone", raw.get("timezone"))
    days = fields.parsed(p, f"{path}.days", wh.parse_days, raw.get("days"))
    start = fields.parsed(p, f"{path}.start", wh.parse_clock, raw.get("start"))
    end = fields.parsed(p, f"{path}.end", wh.parse_clock, raw.get("end"))
    holidays = fields.parsed(p, f"{path}.holidays", wh.parse_holidays, raw.get("holidays")) or frozenset()
    if len(p.errors) > before or not _complete(raw, HOURS):
        return None
    errors = wh.validate(wh.WorkingHours(zone or "UTC", days, start, end, holidays))
    p.errors.extend(f"{path}.{error}" for error in errors)
    return None if errors else WorkingHoursSpec(
        path=path, timezone=zone, days=tuple(sorted(days)), start=f"{start:%H:%M}", end=f"{end:%H:%M}",
        holidays=tuple(sorted(day.isoformat() for day in holidays)))


def _complete(raw: dict, keys: Keys) -> bool:
    """Whether every required key has a value (a missing one is reported by fields.mapping)."""
    return all(raw.get(key) is not None for key in keys.required)


# --- rotations ---------------------------------------------------------------------------------------

def parse_rotations(p: Problems, path: str, value: Any) -> list[RotationSpec]:
    specs = fields.records(p, path, value, ROTATION, _rotation)
    fields.unique(p, [(f"{s.path}.name", s.name) for s in specs], "rotation")
    return specs


def _rotation(p: Problems, path: str, raw: dict) -> RotationSpec:
    before = len(p.errors)
    name = fields.text(p, f"{path}.name", raw.get("name"), max_len=100, pattern=SLUG, hint=ROTATION_NAME_HINT)
    zone = fields.timezone(p, f"{path}.timezone", raw.get("timezone"))
    day, at = _handoff(p, f"{path}.handoff", raw.get("handoff"))
    start = fields.iso_date(p, f"{path}.start", raw["start"]) if raw.get("start") is not None else None
    spec = RotationSpec(path=path, name=name, timezone=zone, handoff_weekday=day,
                        handoff_time=None if at is None else f"{at:%H:%M}", start_date=start,
                        members=_members(p, f"{path}.members", raw.get("members")))
    if len(p.errors) == before and _complete(raw, ROTATION):  # the model's own rules, on a clean parse
        domain = rotation_rules.RotationSpec(name, zone or "UTC", rotation_rules.Handoff(day, at), start,
                                             spec.members)
        p.errors.extend(f"{path}.{error}" for error in rotation_rules.validate(domain))
    return spec


def _handoff(p: Problems, path: str, value: Any) -> tuple[int | None, time | None]:
    if value is None:
        return None, None  # reported as required
    raw = fields.mapping(p, path, value, HANDOFF, what='a mapping like {day: mon, time: "09:00"}')
    if raw is None:
        return None, None
    return (fields.parsed(p, f"{path}.day", wh.parse_weekday, raw.get("day")),
            fields.parsed(p, f"{path}.time", wh.parse_clock, raw.get("time")))


def _members(p: Problems, path: str, value: Any) -> tuple[str | None, ...]:
    """E-mails in order; members[i] is the i-th member's path (references.py reports unknown users)."""
    if value == []:
        p.error(path, "a rotation needs at least one member")
    if value is None:
        return ()
    emails = [(where, fields.email(p, where, item)) for where, item in fields.items(p, path, value)]
    fields.unique(p, emails, "member")
    return tuple(email for _, email in emails)


# --- escalation_policies -----------------------------------------------------------------------------

def parse_escalation_policies(p: Problems, path: str, value: Any) -> list[PolicySpec]:
    specs = fields.records(p, path, value, POLICY, _policy)
    fields.unique(p, [(f"{s.path}.name", s.name) for s in specs], "escalation policy")
    return specs


def _policy(p: Problems, path: str, raw: dict) -> PolicySpec:
    name = fields.text(p, f"{path}.name", raw.get("name"), max_len=100)
    repeat = fields.whole_number(p, f"{path}.repeat", raw.get("repeat", 0), low=0, high=MAX_REPEAT)
    defer = _classes(p, f"{path}.defer_outside_working_hours", raw.get("defer_outside_working_hours"))
    if raw.get("steps") == []:
        p.error(f"{path}.steps", "a policy needs at least one step")
    steps = fields.records(p, f"{path}.steps", raw["steps"], STEP, _step) if raw.get("steps") is not None else []
    return PolicySpec(path=path, name=name, repeat=repeat, defer_classes=defer, steps=tuple(steps))


def _classes(p: Problems, path: str, value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    found = [(where, fields.severity_class(p, where, item)) for where, item in fields.items(p, path, value)]
    fields.unique(p, found, "severity class")
    return tuple(sorted({severity_class for _, severity_class in found if severity_class is not None}))


def _step(p: Problems, path: str, raw: dict) -> StepSpec:
    targets = _targets(p, f"{path}.targets", raw.get("targets"))
    channels = _channels(p, f"{path}.channels", raw.get("channels"))
    after = raw.get("escalate_after")  # when missing, reported as required
    step = StepSpec(path=path, targets=targets, channels=channels,
                    escalate_after=None if after is None else fields.seconds(p, f"{path}.escalate_after", after),
                    when=fields.choice(p, f"{path}.when", raw.get("when"), WHEN))
    if channels and "slack" not in channels:
        for index, target in enumerate(targets):
            if target and target.startswith("slack:"):
                p.error(f"{path}.targets[{index}]",
                        f"{target} is a Slack channel, paged over slack only; add slack to channels")
    return step


def _targets(p: Problems, path: str, value: Any) -> tuple[str | None, ...]:
    if value == []:
        p.error(path, f"a step needs at least one target; {TARGET_HINT}")
    if value is None:
        return ()
    targets = [(where, _target(p, where, item)) for where, item in fields.items(p, path, value)]
    fields.unique(p, targets, "target")
    return tuple(target for _, target in targets)


def _target(p: Problems, path: str, value: Any) -> str | None:
    """'rotation:NAME', 'user:EMAIL' (lower-case) or 'slack:CHANNEL'."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in TARGET_KINDS:
        kind, name = next(iter(value.items()))
        p.error(path, f"expected text, got a mapping; write {kind}:{name} with no space after the colon")
        return None
    target = fields.text(p, path, value, max_len=300, hint=TARGET_HINT)
    if target is None:
        return None
    kind, colon, name = (part.strip() for part in target.partition(":"))
    if not colon or kind not in TARGET_KINDS or not name:
        p.error(path, f"invalid target {target!r}; {TARGET_HINT}")
        return None
    if kind == "user":
        name = fields.email(p, path, name)
    elif kind == "slack" and not SLACK_CHANNEL.match(name):
        p.error(path, f"invalid Slack channel {name!r}; expected a channel name like #ops or an ID like C024BE91L")
        name = None
    return None if name is None else f"{kind}:{name}"


def _channels(p: Problems, path: str, value: Any) -> tuple[str | None, ...]:
    """The channels a step pages each target on, as written."""
    if value == []:
        p.error(path, f"a step needs at least one channel; expected {' and/or '.join(CHANNELS)}")
    if value is None:
        return ()
    channels = [(where, fields.choice(p, where, item, CHANNELS)) for where, item in fields.items(p, path, value)]
    fields.unique(p, channels, "channel")
    return tuple(channel for _, channel in channels)
