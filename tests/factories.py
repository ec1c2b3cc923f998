"""Factories for test data; each commits, so HTTP requests in the test see the rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from incidents import clock
from incidents.domain.enums import Role
from incidents.models import ClassificationRule, Customer, Rotation, RotationMember, Service, User
from incidents.services import api_keys, integrations

PASSWORD = "Quiet-Harbour-Lantern-42"
TEST_SECRET_KEY = "test-secret-key-" + "x" * 32  # tests/conftest.py's test_config.secret_key


def totp_in_clear(stored: str) -> str:
    """A user's TOTP secret as an authenticator app holds it: the app seals it after first use."""
    from incidents.services import sealed
    return sealed.unseal(TEST_SECRET_KEY, stored) if sealed.is_sealed(stored) else stored


SAMPLE_RULES = [
    ("security breach", 1, "security_breach", {"text_any": ["breach", "intrusion", "unauthorized access"]}),
    ("outage", 1, "outage", {"text_any": ["outage", "down", "unreachable", "messages not sending"]}),
    ("critical from monitoring", 1, "outage", {"severity": ["critical"]}),
    ("compliance", 1, "compliance", {"text_any": ["regulatory", "compliance", "gdpr"]}),
    ("data integrity", 2, "data", {"text_any": ["corrupt", "malformed", "missing data"]}),
    ("performance", 2, "performance", {"any": [{"text_any": ["slow", "latency"]}, {"severity": ["error"]}]}),
    ("everything else", 3, "defect", {}),
]


@dataclass
class ServiceWithKeys:
    service: Service
    keys: dict[str, str]  # integration type -> key


class Factories:
    def __init__(self, session: Session):
        self.session = session

    def customer(self, slug: str = "acme", sla_minutes: dict | None = None) -> Customer:
        row = Customer(slug=slug, name=slug.title(), sla_minutes=sla_minutes or {},
                       contacts=[], created_at=clock.now())
        self.session.add(row)
        self.session.commit()
        return row

    def service(self, name: str = "checkout", *, customer: Customer | None = None,
                auto_resolve: bool = True,
                types: tuple[str, ...] = ("alertmanager", "pagerduty", "grafana", "generic")) -> ServiceWithKeys:
        customer = customer or self.customer()
        row = Service(name=name, customer=customer, auto_resolve=auto_resolve, created_at=clock.now())
        self.session.add(row)
        keys = {}
        for kind in types:
            _, keys[kind] = integrations.create(self.session, service=row, name=kind, type=kind)
        self.session.commit()
        return ServiceWithKeys(row, keys)

    def rules(self, rules=SAMPLE_RULES) -> None:
        for position, (name, severity_class, category, match) in enumerate(rules):
            self.session.add(ClassificationRule(position=position, name=name, severity_class=severity_class,
                                                category=category, match=match))
        self.session.commit()

    def user(self, email: str = "ana@ops.example", role: Role = Role.OPS_ENGINEER, active: bool = True) -> User:
        row = User(email=email, name=email.split("@")[0].title(), role=role.value, active=active,
                   created_at=clock.now())
        self.session.add(row)
        self.session.commit()
        return row

    def console_user(self, email: str = "ana@ops.example", role: Role = Role.OPS_ENGINEER, *,
                     password: str = PASSWORD, enrolled: bool = True) -> User:
        """A user who can sign in to the console: a password and (unless told not to) a TOTP secret."""
        from incidents.services.accounts import passwords, second_factor
        row = self.session.query(User).filter_by(email=email).one_or_none() or self.user(email, role)
        row.role = role.value
        row.password_hash = passwords.hash_password(password)
        row.password_changed_at = clock.now()
        if enrolled:
            row.totp_secret = second_factor.new_secret()
            row.totp_enrolled_at = clock.now()
        self.session.commit()
        return row

    def api_key(self, scope: str = "write", name: str = "tests") -> str:
        _, key = api_keys.create(self.session, name=f"{name}-{scope}", scope=scope)
        self.session.commit()
        return key

    def rotation(self, name: str = "out-of-hours",
                 members: tuple[str, ...] = ("ana@ops.example", "ben@ops.example", "cara@ops.example"), *,
                 timezone: str = "Europe/London", weekday: int = 0, at: str = "09:00",
                 start: date = date(2026, 11, 2)) -> Rotation:
        """A weekly rotation; members are e-mails, and users that do not exist yet are made."""
        existing = {u.email: u for u in self.session.query(User).filter(User.email.in_(members))}
        users = [existing.get(email) or self.user(email) for email in members]
        row = Rotation(name=name, timezone=timezone, handoff_weekday=weekday, handoff_time=at,
                       start_date=start, created_at=clock.now(),
                       members=[RotationMember(position=i, user=u) for i, u in enumerate(users)])
        self.session.add(row)
        self.session.commit()
        return row
