"""A believable hour of work for the README screenshots: the sample configuration (two customers,
two services, five people, rotations, an escalation policy), nine incidents of all three classes
with alerts, pages, acknowledgements, comments and a reclassification, an on-call override, an
invitation and an API key (both audited).

History is written with the frozen `clock` walking through the last hour, through the same doors
production uses: alerts over HTTP to the intake, everything else through the service functions.
The clock is left at the real time, so the browser's live countdowns agree with the server's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources

from sqlalchemy import select

from incidents.domain.enums import Role, Source
from incidents.models import Page, User
from incidents.services import api_keys, audit, incidents, integrations, lifecycle, oncall
from incidents.services.accounts import login, users
from incidents.services.actor import Actor
from incidents.services.apply import apply_document, read_document
from incidents.services.engine import deliveries, escalations
from tests.browser.steps import post_alert

CONSOLE = audit.Where("console", "10.20.0.14")


@dataclass
class Sample:
    admin: User          # lee@ops.example, signs in for the screenshots
    newcomer: User       # has a password, no second factor yet: the enrolment screenshot
    long_story: int      # the incident with the long timeline
    outage: int          # triggered, nobody has answered yet: what the phone screenshot shows
    keys: dict[str, str]  # service name -> generic integration key


def load(session, make, clock, live_server: str, public_url: str) -> Sample:
    real_now = datetime.fromtimestamp(time.time(), timezone.utc)
    clock.at = real_now - timedelta(minutes=58)
    keys = _apply_sample_config(session, public_url)
    people = {u.email: u for u in session.scalars(select(User))}
    admin = make.console_user("lee@ops.example", Role.ADMIN)
    ana = make.console_user("ana@ops.example", Role.OPS_ENGINEER)
    as_ana, as_lee = Actor.user(ana.id, ana.email), Actor.user(admin.id, admin.email)
    step = _Steps(session, clock)

    disk = post_alert(live_server, keys["checkout"], "Disk usage 91% on db-replica-2", severity="warning",
                      source="node-exporter", dedup_key="disk-db-replica-2")
    step.pages()
    step.wait(4)
    post_alert(live_server, keys["checkout"], "Disk usage 91% on db-replica-2", status="resolved",
               dedup_key="disk-db-replica-2")
    step.wait(6)
    story = post_alert(live_server, keys["checkout"], "Checkout API returning 502 for 38% of requests",
                       severity="critical", source="prometheus", dedup_key="checkout-5xx",
                       details={"error_rate": 0.38, "region": "eu-west-1"})
    step.pages()
    for _ in range(3):
        step.wait(1)
        post_alert(live_server, keys["checkout"], "Checkout API returning 502 for 38% of requests",
                   severity="critical", source="prometheus", dedup_key="checkout-5xx")
    step.wait(2)
    step.do(lifecycle.acknowledge, incident_id=story, actor=as_ana, source=Source.SMS)
    step.wait(3)
    step.do(lifecycle.assign, incident_id=story, assignee_email=ana.email, actor=as_ana, source=Source.CONSOLE)
    step.do(lifecycle.comment, incident_id=story, actor=as_ana, source=Source.CONSOLE,
            text="Release 2026.11.3 went out at the same minute. Rolling it back now.")
    step.wait(9)
    step.do(lifecycle.comment, incident_id=story, actor=as_ana, source=Source.SLACK,
            text="Rollback done; 502s down to 0.4% and falling. Watching for 15 minutes before resolving.")

    step.wait(4)
    export = step.report("Nightly order export has malformed CSV rows", "globex", "messaging",
                         "Rows with a comma in the delivery note are split in two since Monday.")
    step.do(lifecycle.acknowledge, incident_id=export, actor=Actor.user(people["ben@ops.example"].id,
                                                                         "ben@ops.example"), source=Source.SLACK)
    step.do(lifecycle.assign, incident_id=export, assignee_email="ben@ops.example", actor=as_ana,
            source=Source.CONSOLE)
    step.wait(5)
    vat = step.report("Invoice PDF shows an old VAT number in the footer", "acme", None,
                      "Spotted by Acme's finance team on invoices issued this month.")
    step.do(lifecycle.reclassify, incident_id=vat, severity_class=1, category="compliance", actor=as_ana,
            source=Source.CONSOLE, reason="Invoices with a wrong VAT number breach a statutory duty.")
    step.do(lifecycle.acknowledge, incident_id=vat, actor=as_ana, source=Source.CONSOLE)
    step.wait(6)
    step.report("Delivery report page does not sort by date", "globex", "messaging",
                "Clicking the Date column header does nothing.")
    step.report("Typo on the status page: 'Operatonal'", "acme", "checkout", "")
    step.wait(5)
    post_alert(live_server, keys["checkout"], "Payment authorisation latency p99 2.4 s (threshold 1 s)",
               severity="warning", source="grafana", dedup_key="payment-latency")
    step.pages()
    step.wait(7)
    outage = post_alert(live_server, keys["messaging"], "SMS messages not sending to UK numbers",
               severity="error", source="twilio-status", dedup_key="sms-uk")
    step.pages()
    step.wait(2)
    step.report("GDPR erasure request for account 4411 is past its deadline", "acme", None,
                "The erasure job failed silently on 2026-11-20.")
    step.pages()

    clock.at = real_now
    _sign_ins(session, real_now)
    oncall.add_override(session, rotation_name="out-of-hours", user_email="ben@ops.example",
                        start=real_now + timedelta(hours=6), end=real_now + timedelta(hours=18),
                        actor_label=admin.email, now=real_now, actor=as_lee, where=CONSOLE)
    users.invite(session, email="sam@ops.example", role=Role.RESPONDER.value, name="Sam Kaur", actor=as_lee,
                 where=CONSOLE, now=real_now)
    api_keys.create(session, name="grafana-dashboards", scope="read", actor=as_lee, where=CONSOLE)
    users.set_role(session, user_id=people["viv@ops.example"].id, role=Role.RESPONDER.value, actor=as_lee,
                   where=CONSOLE, now=real_now)
    integrations.rotate_key(session, service_name="messaging", name="generic", actor=as_lee, where=CONSOLE)
    newcomer = make.console_user("dev@ops.example", Role.RESPONDER, enrolled=False)
    newcomer.name = "Dev Patel"
    session.commit()
    assert disk and story
    return Sample(admin=admin, newcomer=newcomer, long_story=story, outage=outage, keys=keys)


def _sign_ins(session, now: datetime) -> None:
    """The hour's sign-ins: the team from the office and home, and someone guessing from afar."""
    laptop = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
    ana = session.scalars(select(User).where(User.email == "ana@ops.example")).one()
    for minutes, email, ip, agent, outcome, user in [
        (55, "ana@ops.example", "81.2.69.160", phone, login.Outcome.SUCCESS, ana),
        (31, "admin@acme.example", "203.0.113.77", laptop, login.Outcome.UNKNOWN_USER, None),
        (30, "root@ops.example", "203.0.113.77", laptop, login.Outcome.UNKNOWN_USER, None),
        (30, "ana@ops.example", "203.0.113.77", laptop, login.Outcome.BAD_PASSWORD, ana),
        (12, "ana@ops.example", "10.20.0.31", laptop, login.Outcome.SUCCESS, ana),
    ]:
        attempt = login.Attempt(email=email, ip=ip, user_agent=agent, now=now - timedelta(minutes=minutes))
        login.record(session, attempt, outcome, user)


def _apply_sample_config(session, public_url: str) -> dict[str, str]:
    """`vigil up --sample`'s configuration; the generic integration key of each service."""
    path = resources.files("incidents") / "sample" / "vigil.yaml"
    with resources.as_file(path) as file:
        result = apply_document(session, read_document(str(file)), prune=False, public_url=public_url)
    session.commit()
    return {i["service"]: i["key"] for i in result.integrations if i["type"] == "generic"}


class _Steps:
    """History in order: each step a little later, committed, with its pages sent."""

    def __init__(self, session, clock):
        self.session, self.clock = session, clock

    def wait(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    def do(self, verb, **arguments) -> None:
        verb(self.session, **arguments)
        self.session.commit()
        self.pages()

    def report(self, title: str, customer: str, service: str | None, description: str) -> int:
        incident = incidents.report(self.session, title=title, description=description, customer_slug=customer,
                                    service_name=service, actor=Actor.api_key("customer-portal"),
                                    source=Source.API)
        self.session.commit()
        self.pages()
        return incident.id

    def pages(self) -> None:
        """What the engine and a worker would do: page the due steps, and the pages go out."""
        now = self.clock.at
        escalations.advance_due(self.session, now=now)
        self.session.commit()
        pending = self.session.scalars(select(Page.id).where(Page.status == "pending")).all()
        for page_id in pending:
            if deliveries.claim(self.session, page_id=page_id, now=now) is not None:
                deliveries.mark_sent(self.session, page_id=page_id, provider_id=f"SM{page_id:032d}",
                                     thread=None, now=now + timedelta(seconds=2))
        self.session.commit()
