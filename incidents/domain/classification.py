"""Classification rules are data: an ordered list, first match wins, each match explained.

A rule's `match` is a mapping whose keys must all hold (an empty mapping matches everything):
  text_any: [phrases]        any phrase appears as whole words in the title or description
  severity: [names]          the source's severity is one of these (case-insensitive)
  category: [names]          the category given with the report is one of these
  source:   [names]          the monitoring source (e.g. Alertmanager) is one of these
  labels:   {key: value|[values]}   every named label has one of the values
  any:      [match, ...]     at least one nested match holds
  all:      [match, ...]     every nested match holds
  not:      match            the nested match does not hold
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

MATCH_KEYS = ("text_any", "severity", "category", "source", "labels", "any", "all", "not")


@dataclass(frozen=True)
class Rule:
    name: str
    severity_class: int
    category: str
    match: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subject:
    """What is classified: an alert's or a report's normalised fields."""

    title: str
    description: str = ""
    severity: str | None = None
    category: str | None = None
    source: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Classification:
    severity_class: int
    category: str
    rule: str
    reason: str


FALLBACK = Rule(name="default", severity_class=3, category="defect")


def classify(subject: Subject, rules: Sequence[Rule]) -> Classification:
    """The first rule that matches decides; a reporter's explicit category picks its rule."""
    if subject.category:
        for rule in rules:
            if rule.category == subject.category:
                return Classification(rule.severity_class, rule.category, rule.name,
                                      f"category {subject.category!r} given by the reporter")
    for rule in rules:
        reason = explain(rule.match, subject)
        if reason is not None:
            return Classification(rule.severity_class, rule.category, rule.name, reason)
    return Classification(FALLBACK.severity_class, FALLBACK.category, FALLBACK.name,
                          "no rule matched; class 3 by default")


def explain(match: Mapping[str, Any], subject: Subject) -> str | None:
    """Why `match` holds for `subject`, or None when it does not."""
    if not match:
        return "matches everything"
    reasons = []
    for key, value in match.items():
        reason = _CHECKS[key](value, subject)
        if reason is None:
            return None
        reasons.append(reason)
    return "; ".join(reasons)


def _text_any(phrases: Sequence[str], subject: Subject) -> str | None:
    for where, text in (("title", subject.title), ("description", subject.description)):
        for phrase in phrases:
            if text and _phrase_pattern(phrase).search(text):
                return f"{where} mentions {phrase!r}"
    return None


@lru_cache(maxsize=1024)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    # Whole words only, so "down" does not match "download" or "slowdown".
    return re.compile(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", re.IGNORECASE)


def _one_of(attribute: str):
    def check(values: Sequence[str], subject: Subject) -> str | None:
        actual = getattr(subject, attribute)
        if actual is not None and actual.lower() in {str(v).lower() for v in values}:
            return f"{attribute} is {actual!r}"
        return None
    return check


def _labels(expected: Mapping[str, Any], subject: Subject) -> str | None:
    for key, wanted in expected.items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if subject.labels.get(key) not in {str(v) for v in allowed}:
            return None
    return "labels " + ", ".join(f"{k}={subject.labels[k]}" for k in expected)


def _any(matches: Sequence[Mapping[str, Any]], subject: Subject) -> str | None:
    for nested in matches:
        reason = explain(nested, subject)
        if reason is not None:
            return reason
    return None


def _all(matches: Sequence[Mapping[str, Any]], subject: Subject) -> str | None:
    reasons = [explain(nested, subject) for nested in matches]
    return None if any(r is None for r in reasons) else "; ".join(reasons)


def _not(nested: Mapping[str, Any], subject: Subject) -> str | None:
    return "not (" + _describe(nested) + ")" if explain(nested, subject) is None else None


def _describe(match: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in match.items()) or "everything"


_CHECKS = {
    "text_any": _text_any,
    "severity": _one_of("severity"),
    "category": _one_of("category"),
    "source": _one_of("source"),
    "labels": _labels,
    "any": _any,
    "all": _all,
    "not": _not,
}


def validate_match(match: Any, path: str) -> list[str]:
    """Errors in a match expression, each prefixed with its path in the file."""
    if not isinstance(match, dict):
        return [f"{path}: expected a mapping"]
    errors: list[str] = []
    for key, value in match.items():
        where = f"{path}.{key}"
        if key not in _CHECKS:
            errors.append(f"{where}: unknown match key; expected one of {', '.join(MATCH_KEYS)}")
        elif key in ("any", "all"):
            if not isinstance(value, list) or not value:
                errors.append(f"{where}: expected a non-empty list of matches")
            else:
                for i, nested in enumerate(value):
                    errors.extend(validate_match(nested, f"{where}[{i}]"))
        elif key == "not":
            errors.extend(validate_match(value, where))
        elif key == "labels":
            if not isinstance(value, dict) or not value:
                errors.append(f"{where}: expected a mapping of label names to values")
        elif not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            errors.append(f"{where}: expected a non-empty list of strings")
    return errors
