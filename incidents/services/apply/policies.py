"""Escalation policies by name; each policy's steps are one JSON list, replaced whole when it differs.
With --prune, policies not in the file are deleted unless a service or an incident's escalation still
refers to them (references.py)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import EscalationPolicy
from incidents.services.apply.result import ApplyResult
from incidents.services.apply.rows import assign
from incidents.services.apply.specs import PolicySpec


def policies_by_name(session: Session) -> dict[str, EscalationPolicy]:
    return {p.name: p for p in session.scalars(select(EscalationPolicy))}


def sync_policies(session: Session, specs: list[PolicySpec], result: ApplyResult) -> dict[str, EscalationPolicy]:
    """Every policy by name, after the file's are in place and have ids (services link to them)."""
    result.section("escalation_policies")
    by_name = policies_by_name(session)
    for spec in specs:
        values = dict(repeat=spec.repeat, defer_classes=list(spec.defer_classes),
                      steps=[step.stored() for step in spec.steps])
        row = by_name.get(spec.name)
        if row is None:
            by_name[spec.name] = EscalationPolicy(name=spec.name, **values)
            session.add(by_name[spec.name])
            result.count("escalation_policies", "created")
        else:
            result.count("escalation_policies", "updated" if assign(row, **values) else "unchanged")
    session.flush()
    return by_name


def delete_policies(session: Session, rows: list[EscalationPolicy], result: ApplyResult) -> None:
    for row in rows:
        session.delete(row)
        result.count("escalation_policies", "deleted")
