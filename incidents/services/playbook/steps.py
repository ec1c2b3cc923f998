"""Which executor runs each step kind, and the steps a run is made of.

Executors are named as "module:Class" and imported only when a step of that kind runs, so a
worker without boto3 or a Redis client can still run the steps that need neither, and a plain
`import` of this module pulls in no driver.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from incidents.domain import playbook as rules
from incidents.services.playbook.rotators.base import Rotator

STEP_KINDS: dict[str, str] = {
    rules.NOTIFY_CUSTOMERS: "incidents.services.playbook.notify:NotifyCustomers",
    rules.VIGIL_API_KEYS: "incidents.services.playbook.rotators.vigil_keys:ApiKeys",
    rules.VIGIL_INTEGRATION_KEYS: "incidents.services.playbook.rotators.vigil_keys:IntegrationKeys",
    rules.USER_SESSIONS: "incidents.services.playbook.rotators.sessions:UserSessions",
    rules.AWS_IAM_ACCESS_KEYS: "incidents.services.playbook.rotators.aws_iam:AwsIamAccessKeys",
    rules.POSTGRESQL_ROLE: "incidents.services.playbook.rotators.postgresql_role:PostgresqlRole",
    rules.REDIS_ACL_USER: "incidents.services.playbook.rotators.redis_acl:RedisAclUser",
}
NO_DRILL_TARGET = "no drill target configured"


def executor(kind: str) -> Rotator:
    """A new executor for `kind` (classes take no arguments); KeyError for an unknown kind."""
    module_name, _, class_name = STEP_KINDS[kind].partition(":")
    return getattr(importlib.import_module(module_name), class_name)()


@dataclass(frozen=True)
class PlannedStep:
    """One step as a run is started: its kind, its title, its config (drill target swapped in)
    and, for a drill step with nothing to run against, why it is skipped from the start."""

    kind: str
    title: str
    config: dict[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None


def planned_steps(playbook: dict[str, Any], mode: str) -> list[PlannedStep]:
    """The customers' notice first ("as soon as we are aware"), then the rotate list in its order.

    In a drill, external kinds run against `drill.targets[kind]` instead of the real target; with
    no target the step is planned as skipped, so a drill never touches a production credential.
    The drill keeps the real step's secret store (unless its target names one), to rehearse it too.
    """
    notice = {"type": rules.NOTIFY_CUSTOMERS, "notify_customers": playbook.get("notify_customers", "all")}
    steps = [PlannedStep(rules.NOTIFY_CUSTOMERS, rules.TITLES[rules.NOTIFY_CUSTOMERS], notice)]
    targets = (playbook.get("drill") or {}).get("targets") or {}
    for entry in playbook.get("rotate") or []:
        kind = entry["type"]
        title = _title(kind, entry)
        if mode == rules.Mode.DRILL and kind in rules.EXTERNAL_KINDS:
            target = targets.get(kind)
            if target is None:
                steps.append(PlannedStep(kind, title, dict(entry), NO_DRILL_TARGET))
                continue
            # The same kind of secret store as the real step, unless the target names its own.
            store = {"secret_store": entry["secret_store"]} if "secret_store" in entry else {}
            entry = {"type": kind, **store, **target}
            title = _title(kind, entry) + " (drill target)"
        steps.append(PlannedStep(kind, title, dict(entry)))
    return steps


def _title(kind: str, entry: dict[str, Any]) -> str:
    """The kind's title, naming the target where there is one: people read the run by these."""
    target = {rules.AWS_IAM_ACCESS_KEYS: ", ".join(entry.get("users") or []),
              rules.POSTGRESQL_ROLE: entry.get("role"), rules.REDIS_ACL_USER: entry.get("user")}.get(kind)
    title = f"{rules.TITLES[kind]}: {target}" if target else rules.TITLES[kind]
    return title if len(title) <= 180 else title[:177] + "..."
