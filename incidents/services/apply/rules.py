"""Classification rules: the ordered list is one document, replaced whole when it differs."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import ClassificationRule
from incidents.services.apply.result import ApplyResult
from incidents.services.apply.specs import RuleSpec


def sync_rules(session: Session, specs: list[RuleSpec], result: ApplyResult) -> None:
    """Counts compare position by position; any difference replaces every stored rule."""
    result.section("classification")
    stored = list(session.scalars(select(ClassificationRule).order_by(ClassificationRule.position)))
    old = [(r.name, r.severity_class, r.category, r.match) for r in stored]
    new = [(s.name, s.severity_class, s.category, s.match) for s in specs]
    for position in range(max(len(old), len(new))):
        if position >= len(new):
            result.count("classification", "deleted")
        elif position >= len(old):
            result.count("classification", "created")
        else:
            result.count("classification", "unchanged" if old[position] == new[position] else "updated")
    if old == new:
        return
    for row in stored:
        session.delete(row)
    session.flush()  # positions are unique: the old rows go before the new ones arrive
    for position, spec in enumerate(specs):
        session.add(ClassificationRule(position=position, name=spec.name, severity_class=spec.severity_class,
                                       category=spec.category, match=spec.match))
