"""The breach playbook's rules, pure: step kinds and states, what may follow what, the notice
template, and the regulator's deadline.

Our published protocol for a security breach: notify every customer as soon as we are aware, revoke
and regenerate external access keys, require password resets, reset cloud credentials, change data
storage credentials, and rehearse all of it every quarter. A run is that protocol as ordered steps.
"""
from __future__ import annotations

import string
from datetime import date, datetime, timedelta
from enum import StrEnum


class Mode(StrEnum):
    LIVE = "live"
    DRILL = "drill"  # drill targets and drill recipients only; nothing real is touched


class RunState(StrEnum):
    RUNNING = "running"
    FAILED = "failed"  # a step failed: the run waits for a retry or a skip
    DONE = "done"
    CANCELLED = "cancelled"


ACTIVE_RUN_STATES = (RunState.RUNNING.value, RunState.FAILED.value)


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


FINISHED_STEP_STATES = (StepState.DONE.value, StepState.SKIPPED.value)


class NoticeState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # with the reason: an invalid address, a refusal by the provider
    UNCERTAIN = "uncertain"  # the worker stopped mid-send: not resent, so nobody gets it twice


# Step kinds. The first is always the customers' notice ("as soon as we are aware"); the rest are
# the `rotate` list of the breach_playbook section, in its order.
NOTIFY_CUSTOMERS = "notify_customers"
VIGIL_API_KEYS = "vigil_api_keys"
VIGIL_INTEGRATION_KEYS = "vigil_integration_keys"
USER_SESSIONS = "user_sessions"  # end every session, require new passwords, e-mail reset links
AWS_IAM_ACCESS_KEYS = "aws_iam_access_keys"
POSTGRESQL_ROLE = "postgresql_role"
REDIS_ACL_USER = "redis_acl_user"

ROTATOR_KINDS = (VIGIL_API_KEYS, VIGIL_INTEGRATION_KEYS, USER_SESSIONS, AWS_IAM_ACCESS_KEYS,
                 POSTGRESQL_ROLE, REDIS_ACL_USER)
INTERNAL_KINDS = (VIGIL_API_KEYS, VIGIL_INTEGRATION_KEYS, USER_SESSIONS)  # Vigil's own data
EXTERNAL_KINDS = (AWS_IAM_ACCESS_KEYS, POSTGRESQL_ROLE, REDIS_ACL_USER)  # have drill targets
STEP_KINDS = (NOTIFY_CUSTOMERS, *ROTATOR_KINDS)

TITLES = {
    NOTIFY_CUSTOMERS: "Notify customers",
    VIGIL_API_KEYS: "Revoke and regenerate Vigil API keys",
    VIGIL_INTEGRATION_KEYS: "Revoke and regenerate integration keys",
    USER_SESSIONS: "End sessions and require password resets",
    AWS_IAM_ACCESS_KEYS: "Reset AWS IAM access keys",
    POSTGRESQL_ROLE: "Change a PostgreSQL role's password",
    REDIS_ACL_USER: "Change a Redis ACL user's password",
}

BREACH_CATEGORY = "security_breach"
REGULATOR_WINDOW = timedelta(hours=72)  # GDPR art. 33: notify the authority within 72 hours of awareness

TEMPLATE_FIELDS = ("customer", "service", "summary", "actions", "incident", "aware_at")
NOTIFY_SCOPES = ("all", "affected")


def template_problems(template: str) -> list[str]:
    """What is wrong with a notice template: unknown or malformed placeholders."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        return [f"not a valid template ({error}); write a literal brace as {{{{ or }}}}"]
    problems = []
    for name in names:
        if name not in TEMPLATE_FIELDS:
            problems.append(f"unknown placeholder {{{name}}}; use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}")
    return problems


def render_notice(template: str, values: dict[str, str]) -> str:
    """The template with its placeholders filled (a checked template: see template_problems)."""
    return template.format_map({name: values.get(name, "") for name in TEMPLATE_FIELDS})


def regulator_due(aware_at: datetime) -> datetime:
    return aware_at + REGULATOR_WINDOW


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def drill_due(last_drill: date | None, today: date) -> bool:
    """A drill is due when none has been run in the current calendar quarter."""
    return last_drill is None or last_drill < quarter_start(today)


# Warnings before the regulator's deadline, as time left: a day ahead leaves a working day to write
# the notification, six hours ahead is the last call. Fixed times rather than shares of the window,
# because the window is fixed by law (72 hours) and people think of it as "a day left".
REGULATOR_WARNINGS = (timedelta(hours=24), timedelta(hours=6))


def regulator_check_at(due_at: datetime, warned: int) -> datetime:
    """When the regulator's clock must next be looked at: the next warning not yet sent, else the deadline."""
    if warned < len(REGULATOR_WARNINGS):
        return due_at - REGULATOR_WARNINGS[warned]
    return due_at


def regulator_warning(due_at: datetime, warned: int, now: datetime) -> int | None:
    """The latest warning whose time has come and that was not sent (its index), or None. Earlier
    ones still unsent are passed over: after an outage, "6 hours left" is the one that is true."""
    reached = [i for i, left in enumerate(REGULATOR_WARNINGS) if now >= due_at - left]
    return reached[-1] if reached and reached[-1] >= warned else None


def hours_left(left: timedelta) -> str:
    """'24 h', '6 h', '90 min': how long is left, as a page or timeline entry says it."""
    minutes = int(left.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def quarter_label(day: date) -> str:
    """'2026-Q4': the calendar quarter of `day`, as the drill reminder remembers it."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
