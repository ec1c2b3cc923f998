"""Checks for the paging sections that need the database: who and what the file refers to (rotation
members, step targets, a service's policy), and which rotations and policies --prune may not delete.

A name may refer to the file or to the database, except that with --prune a section the file gives is
the whole truth: what it leaves out is about to go, so nothing may refer to it.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.models import Escalation, EscalationPolicy, Rotation, Service, Setting, User
from incidents.services.apply.document import Document
from incidents.services.engine.calendar import SETTING as WORKING_HOURS_SETTING


def check(session: Session, document: Document, *, prune: bool) -> list[str]:
    errors = _rotation_members(session, document, prune=prune)
    errors += _step_targets(session, document, prune=prune)
    errors += _service_policies(session, document, prune=prune)
    if prune:
        errors += _undeletable_policies(session, document)
        errors += _undeletable_rotations(session, document)
    return errors


def warnings(session: Session, document: Document) -> list[str]:
    """Steps and deferrals that mean nothing while no working hours are configured."""
    if document.working_hours is not None or session.get(Setting, WORKING_HOURS_SETTING) is not None:
        return []
    found = []
    for policy in document.escalation_policies or []:
        if policy.defer_classes:
            found.append(f"{policy.path}.defer_outside_working_hours: no working_hours are configured, "
                         "so every moment counts as working time and nothing is deferred")
        found += [f"{step.path}.when: no working_hours are configured, so every moment counts as working time"
                  for step in policy.steps if step.when is not None]
    return found


# --- references ------------------------------------------------------------------------------------

class _Known:
    """Names of one kind a reference may use, and how to explain one that it may not."""

    def __init__(self, noun: str, in_file: set[str], in_database: set[str], *, file_only: bool,
                 section: str, inactive: set[str] = frozenset()):
        self.noun, self.section, self.file_only = noun, section, file_only
        self.in_database, self.inactive = in_database, inactive
        self.names = in_file if file_only else in_file | in_database

    def problem(self, path: str, name: str | None) -> str | None:
        if name is None or name in self.names:
            return None
        if self.file_only and (name in self.in_database or name in self.inactive):
            return f"{path}: unknown {self.noun} {name!r} (with --prune, {self.section} must be in the file)"
        if name in self.inactive:
            return f"{path}: {self.noun} {name!r} is deactivated; list them under users to make them active again"
        return f"{path}: unknown {self.noun} {name!r}"


def _users(session: Session, document: Document, *, prune: bool) -> _Known:
    rows = list(session.execute(select(User.email, User.active)))
    return _Known("user", {u.email for u in document.users or [] if u.email},
                  {email.lower() for email, active in rows if active}, section="users",
                  file_only=prune and document.users is not None,
                  inactive={email.lower() for email, active in rows if not active})


def _rotations(session: Session, document: Document, *, prune: bool) -> _Known:
    return _Known("rotation", {r.name for r in document.rotations or [] if r.name},
                  set(session.scalars(select(Rotation.name))), section="rotations",
                  file_only=prune and document.rotations is not None)


def _policies(session: Session, document: Document, *, prune: bool) -> _Known:
    return _Known("escalation policy", {p.name for p in document.escalation_policies or [] if p.name},
                  set(session.scalars(select(EscalationPolicy.name))), section="escalation_policies",
                  file_only=prune and document.escalation_policies is not None)


def _rotation_members(session: Session, document: Document, *, prune: bool) -> list[str]:
    if not document.rotations:
        return []
    users = _users(session, document, prune=prune)
    problems = (users.problem(f"{rotation.path}.members[{index}]", email)
                for rotation in document.rotations for index, email in enumerate(rotation.members))
    return [problem for problem in problems if problem]


def _step_targets(session: Session, document: Document, *, prune: bool) -> list[str]:
    if not document.escalation_policies:
        return []
    known = {"user": _users(session, document, prune=prune),
             "rotation": _rotations(session, document, prune=prune)}
    problems = []
    for policy in document.escalation_policies:
        for step in policy.steps:
            for index, target in enumerate(step.targets):
                kind, _, name = (target or "").partition(":")
                if kind in known:
                    problems.append(known[kind].problem(f"{step.path}.targets[{index}]", name))
    return [problem for problem in problems if problem]


def _service_policies(session: Session, document: Document, *, prune: bool) -> list[str]:
    if not document.services:
        return []
    policies = _policies(session, document, prune=prune)
    problems = (policies.problem(f"{s.path}.escalation_policy", s.escalation_policy) for s in document.services)
    return [problem for problem in problems if problem]


# --- what --prune may not delete ---------------------------------------------------------------------

def policies_to_delete(session: Session, document: Document) -> list[EscalationPolicy]:
    if document.escalation_policies is None:
        return []
    keep = {p.name for p in document.escalation_policies}
    stored = session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.name))
    return [p for p in stored if p.name not in keep]


def rotations_to_delete(session: Session, document: Document) -> list[Rotation]:
    if document.rotations is None:
        return []
    keep = {r.name for r in document.rotations}
    return [r for r in session.scalars(select(Rotation).order_by(Rotation.name)) if r.name not in keep]


def _undeletable_policies(session: Session, document: Document) -> list[str]:
    """A policy stays while a service keeps using it (services the file lists are linked as it says, the
    rest are deleted) or while any incident's escalation refers to it."""
    errors = []
    for policy in policies_to_delete(session, document):
        why = f"escalation_policies: cannot delete {policy.name!r} (not in the file): "
        if document.services is None:
            users = session.scalars(select(Service.name).where(Service.escalation_policy_id == policy.id)
                                    .order_by(Service.name)).all()
            if users:
                errors.append(why + f"services {', '.join(users)} still use it; keep it in the file")
        escalated = session.scalar(select(func.count()).select_from(Escalation)
                                   .where(Escalation.policy_id == policy.id))
        if escalated:
            errors.append(why + f"{escalated} incident{'s were' if escalated != 1 else ' was'} escalated with it; "
                                "keep it in the file")
    return errors


def _undeletable_rotations(session: Session, document: Document) -> list[str]:
    """A rotation stays while a policy that stays targets it (the file's policies are checked as
    references above; without an escalation_policies section, the database's all stay)."""
    if document.escalation_policies is not None:
        return []
    policies = list(session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.name)))
    errors = []
    for rotation in rotations_to_delete(session, document):
        target = f"rotation:{rotation.name}"
        users = [p.name for p in policies if any(target in step.get("targets", []) for step in p.steps)]
        if users:
            errors.append(f"rotations: cannot delete {rotation.name!r} (not in the file): "
                          f"escalation policies {', '.join(users)} page it; keep it in the file")
    return errors
