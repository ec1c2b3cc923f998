"""One parser per supported section of vigil.yaml: raw YAML in, specs out, problems recorded with paths."""
from __future__ import annotations

import json
from typing import Any

from incidents.domain.classification import validate_match
from incidents.domain.enums import IntegrationType, Role
from incidents.services.apply import fields
from incidents.services.apply.sla_sections import parse_sla_clock
from incidents.services.apply.fields import SLUG, SLACK_USER_ID, Keys, Problems
from incidents.services.apply.specs import CustomerSpec, IntegrationSpec, RuleSpec, ServiceSpec, UserSpec

CUSTOMER = Keys(required=("slug", "name"), optional=("sla", "sla_clock", "uptime_target", "contacts"))
CONTACT = Keys(required=("name",), optional=("email", "phone"))
USER = Keys(required=("email", "name", "role"), optional=("phone", "slack_user_id", "timezone"))
RULE = Keys(required=("name", "class", "category", "match"))
SERVICE = Keys(required=("name", "customer"), optional=("auto_resolve", "integrations", "escalation_policy"))
INTEGRATION = Keys(required=("name", "type"))
ROLES = tuple(r.value for r in Role)
INTEGRATION_TYPES = tuple(t.value for t in IntegrationType)
SLUG_HINT = "use lower-case letters, digits, '-' and '_'"


def parse_sla(p: Problems, path: str, value: Any) -> dict[str, int] | None:
    """{class: duration} as {"1": minutes}; classes not named keep their defaults."""
    if not isinstance(value, dict):
        p.error(path, "expected a mapping of severity class to duration, like {1: 120m, 2: 6h, 3: 2d}")
        return None
    table: dict[str, int] = {}
    for key, duration in value.items():
        where = fields.join(path, key)
        severity_class = fields.severity_class(p, where, key)
        minutes = fields.minutes(p, where, duration)
        if severity_class is not None and str(severity_class) in table:
            p.error(where, f"severity class {severity_class} given twice")
        elif severity_class is not None and minutes is not None:
            table[str(severity_class)] = minutes
    return dict(sorted(table.items()))


def parse_customers(p: Problems, path: str, value: Any) -> list[CustomerSpec]:
    specs = fields.records(p, path, value, CUSTOMER, _customer)
    fields.unique(p, [(f"{s.path}.slug", s.slug) for s in specs], "customer")
    return specs


def _customer(p: Problems, path: str, raw: dict) -> CustomerSpec:
    sla, kinds = raw.get("sla"), raw.get("sla_clock")
    return CustomerSpec(
        path=path,
        slug=fields.text(p, f"{path}.slug", raw.get("slug"), max_len=64, pattern=SLUG, hint=SLUG_HINT),
        name=fields.text(p, f"{path}.name", raw.get("name"), max_len=200),
        sla_minutes=parse_sla(p, f"{path}.sla", sla) if sla is not None else {},
        sla_clock=parse_sla_clock(p, f"{path}.sla_clock", kinds) if kinds is not None else {},
        uptime_target=fields.percent(p, f"{path}.uptime_target", raw.get("uptime_target")),
        contacts=fields.records(p, f"{path}.contacts", raw.get("contacts", []), CONTACT, _contact),
    )


def _contact(p: Problems, path: str, raw: dict) -> dict[str, str | None]:
    contact = {
        "name": fields.text(p, f"{path}.name", raw.get("name"), max_len=200),
        "email": fields.email(p, f"{path}.email", raw.get("email")),
        "phone": fields.phone(p, f"{path}.phone", raw.get("phone")),
    }
    if raw.get("email") is None and raw.get("phone") is None:
        p.error(path, "give an email or a phone (or both)")
    return contact


def parse_users(p: Problems, path: str, value: Any) -> list[UserSpec]:
    specs = fields.records(p, path, value, USER, _user)
    fields.unique(p, [(f"{s.path}.email", s.email) for s in specs], "user")
    return specs


def _user(p: Problems, path: str, raw: dict) -> UserSpec:
    return UserSpec(
        path=path,
        email=fields.email(p, f"{path}.email", raw.get("email")),
        name=fields.text(p, f"{path}.name", raw.get("name"), max_len=200),
        role=fields.choice(p, f"{path}.role", raw.get("role"), ROLES),
        phone=fields.phone(p, f"{path}.phone", raw.get("phone")),
        slack_user_id=fields.text(p, f"{path}.slack_user_id", raw.get("slack_user_id"), max_len=32,
                                  pattern=SLACK_USER_ID, hint="expected a Slack member ID like 'U024BE7LH'"),
        timezone=fields.timezone(p, f"{path}.timezone", raw.get("timezone")),
    )


def parse_classification(p: Problems, path: str, value: Any) -> list[RuleSpec]:
    """The ordered rules; the list as a whole is one document."""
    specs = fields.records(p, path, value, RULE, _rule)
    fields.unique(p, [(f"{s.path}.name", s.name) for s in specs], "rule")
    return specs


def _rule(p: Problems, path: str, raw: dict) -> RuleSpec:
    match = raw.get("match")
    if match is not None:
        for error in validate_match(match, f"{path}.match"):
            p.errors.append(error)
    return RuleSpec(
        path=path,
        name=fields.text(p, f"{path}.name", raw.get("name"), max_len=200),
        severity_class=fields.severity_class(p, f"{path}.class", raw["class"]) if "class" in raw else None,
        category=fields.text(p, f"{path}.category", raw.get("category"), max_len=64, pattern=SLUG,
                             hint=SLUG_HINT),
        match=_plain(match),
    )


def parse_services(p: Problems, path: str, value: Any) -> list[ServiceSpec]:
    specs = fields.records(p, path, value, SERVICE, _service)
    fields.unique(p, [(f"{s.path}.name", s.name) for s in specs], "service")
    return specs


def _service(p: Problems, path: str, raw: dict) -> ServiceSpec:
    integrations = fields.records(p, f"{path}.integrations", raw.get("integrations", []), INTEGRATION,
                                  _integration)
    fields.unique(p, [(f"{i.path}.name", i.name) for i in integrations], "integration")
    return ServiceSpec(
        path=path,
        name=fields.text(p, f"{path}.name", raw.get("name"), max_len=100),
        customer=fields.text(p, f"{path}.customer", raw.get("customer"), max_len=64),
        auto_resolve=bool(fields.boolean(p, f"{path}.auto_resolve", raw.get("auto_resolve"))),
        integrations=tuple(integrations),
        escalation_policy=fields.text(p, f"{path}.escalation_policy", raw.get("escalation_policy"), max_len=100),
    )


def _integration(p: Problems, path: str, raw: dict) -> IntegrationSpec:
    return IntegrationSpec(
        path=path,
        name=fields.text(p, f"{path}.name", raw.get("name"), max_len=100),
        type=fields.choice(p, f"{path}.type", raw.get("type"), INTEGRATION_TYPES),
    )


def _plain(value: Any) -> Any:
    """JSON-safe data (dates in label values become text), as it will be stored and compared."""
    return json.loads(json.dumps(value, default=str)) if value is not None else None
