"""The configuration pages: escalation policies (waits, repeats, a service's policy), services and
integrations (keys shown once, rotation, test alerts), customers and their SLA terms."""
from __future__ import annotations

import base64
import json
import zlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import AuditEvent, Customer, EscalationPolicy, Incident, Integration, Service, Setting
from incidents.services import policy as sla_policy

STEPS = [
    {"targets": ["rotation:out-of-hours"], "channels": ["sms", "slack"], "escalate_after": 600,
     "when": "outside_working_hours"},
    {"targets": ["user:lee@ops.example", "slack:#ops"], "channels": ["sms", "slack"], "escalate_after": 900,
     "when": None},
]


def fresh(session):
    session.rollback()  # a fresh look at what the requests committed
    return session


def audit_actions(session) -> list[tuple[str, str]]:
    return [(e.action, e.target) for e in fresh(session).scalars(select(AuditEvent).order_by(AuditEvent.id))]


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def setup(make, session, clock):
    """A rotation, the 'default' policy and a 'quiet' one, and checkout (Acme) using 'default'."""
    make.rotation()
    make.user("lee@ops.example", Role.ADMIN)
    default = EscalationPolicy(name="default", repeat=2, defer_classes=[3], steps=STEPS)
    quiet = EscalationPolicy(name="quiet", repeat=0, defer_classes=[], steps=STEPS[1:])
    session.add_all([default, quiet])
    session.commit()
    made = make.service()
    made.service.escalation_policy_id = default.id
    session.commit()
    return {"default": default.id, "quiet": quiet.id, "service": made.service.id, "keys": made.keys}


def post_alert(client, key: str, summary: str = "disk full"):
    return client.post("/api/v1/alerts", json={"summary": summary}, headers={"Authorization": f"Bearer {key}"})


# --- escalation policies ---------------------------------------------------------------------------

def test_the_policies_page_shows_steps_repeats_deferral_and_users(console, setup):
    page = text(console(Role.VIEWER).get("/policies"))
    assert "rotation <a href=\"/oncall/out-of-hours\">out-of-hours</a>" in page and "(now Cara)" in page
    assert "lee@ops.example" in page and "Slack #ops" in page and "outside working hours only" in page
    assert "10m" in page and "15m" in page
    assert "up to 2 more times" in page and "Class 3 incidents found outside working hours" in page
    assert '<a href="/services/checkout">checkout</a>' in page
    assert "vigil apply vigil.yaml" in page and "--prune" in page
    assert "Change waits and repeats" not in page  # a viewer cannot


def test_ops_engineer_changes_waits_and_repeats_and_it_is_audited(console, setup, session):
    ops = console(Role.OPS_ENGINEER)
    assert 'value="10m"' in text(ops.get(f"/policies/{setup['default']}"))

    response = ops.post(f"/policies/{setup['default']}", {"delays-0": "5m", "delays-1": "90s", "repeat": "3"})

    assert response.status_code == 303
    policy = fresh(session).get(EscalationPolicy, setup["default"])
    assert [s["escalate_after"] for s in policy.steps] == [300, 90]
    assert policy.steps[0]["targets"] == ["rotation:out-of-hours"] and policy.repeat == 3
    [event] = session.scalars(select(AuditEvent)).all()
    assert (event.action, event.target, event.actor, event.door) == (
        "escalation_policy.update", "default", "ops-engineer@ops.example", "console")
    assert event.details == {"escalate_after": {"from": [600, 900], "to": [300, 90]},
                             "repeat": {"from": 2, "to": 3}}
    assert "Saved default" in text(ops.get(f"/policies/{setup['default']}"))


@pytest.mark.parametrize("form, status, message", [
    ({"delays-0": "0m", "delays-1": "15m", "repeat": "2"}, 422, "must be longer than zero"),
    ({"delays-0": "soon", "delays-1": "15m", "repeat": "2"}, 422, "expected a number and a unit"),
    ({"delays-0": "10s", "delays-1": "15m", "repeat": "2"}, 422, "step 1: wait from 30s to 7d, not 10s"),
    ({"delays-0": "8d", "delays-1": "15m", "repeat": "2"}, 422, "step 1: wait from 30s to 7d"),
    ({"delays-0": "5m", "delays-1": "15m", "repeat": "-1"}, 422, "a whole number from 0 to 100"),
    ({"delays-0": "5m", "delays-1": "15m", "repeat": "1000000000"}, 422, "a whole number from 0 to 100"),
    ({"delays-0": "5m", "delays-1": "15m", "repeat": "often"}, 422, "Not a valid integer value"),
    ({"delays-0": "5m", "delays-1": "1" * 40, "repeat": "2"}, 422, "Field cannot be longer than 16 characters"),
    ({"delays-0": "5m", "repeat": "2"}, 409, "reload the page"),
])
def test_bad_waits_and_repeats_are_refused_clearly(console, setup, session, form, status, message):
    response = console(Role.OPS_ENGINEER).post(f"/policies/{setup['default']}", form)
    assert response.status_code == status
    assert message in text(response)
    policy = fresh(session).get(EscalationPolicy, setup["default"])
    assert ([s["escalate_after"] for s in policy.steps], policy.repeat) == ([600, 900], 2)
    assert audit_actions(session) == []


def test_ops_engineer_moves_a_service_to_another_policy(console, setup, session):
    ops = console(Role.OPS_ENGINEER)
    response = ops.post(f"/policies/services/{setup['service']}", {"policy": str(setup["quiet"])})
    assert response.status_code == 303
    assert fresh(session).get(Service, setup["service"]).escalation_policy_id == setup["quiet"]
    assert "checkout now uses quiet for incidents opened from now on." in text(ops.get("/policies"))

    ops.post(f"/policies/services/{setup['service']}", {"policy": ""})
    assert fresh(session).get(Service, setup["service"]).escalation_policy_id is None
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.target, e.details) for e in events] == [
        ("service.set_policy", "checkout", {"from": "default", "to": "quiet"}),
        ("service.set_policy", "checkout", {"from": "quiet", "to": None})]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER])
def test_viewers_and_responders_cannot_change_policies(console, setup, session, role):
    c = console(role)
    assert c.post(f"/policies/{setup['default']}", {"delays-0": "1m", "delays-1": "1m", "repeat": "0"}
                  ).status_code == 403
    assert c.post(f"/policies/services/{setup['service']}", {"policy": str(setup["quiet"])}).status_code == 403
    assert fresh(session).get(Service, setup["service"]).escalation_policy_id == setup["default"]
    assert fresh(session).get(EscalationPolicy, setup["default"]).repeat == 2
    assert audit_actions(session) == []


def test_tampered_policy_and_service_ids_are_404(console, setup, session):
    ops = console(Role.OPS_ENGINEER)
    assert ops.get("/policies/999999").status_code == 404
    assert ops.post("/policies/999999", {"delays-0": "1m", "repeat": "0"}).status_code == 404
    assert ops.post("/policies/99999999999999999999", {"repeat": "0"}).status_code == 404
    assert ops.post(f"/policies/services/{setup['service']}", {"policy": "999999"}).status_code == 404
    assert ops.post(f"/policies/services/{setup['service']}", {"policy": "quiet"}).status_code == 404
    assert ops.post(f"/policies/services/{setup['service']}", {"policy": "9" * 30}).status_code == 404
    assert ops.post("/policies/services/999999", {"policy": str(setup["quiet"])}).status_code == 404
    assert fresh(session).get(Service, setup["service"]).escalation_policy_id == setup["default"]


def test_services_without_a_policy_and_no_default_policy_are_warned_about(console, make, clock):
    make.service("lonely")
    page = text(console(Role.VIEWER).get("/policies"))
    assert "there is no policy called “default”, so their incidents page nobody" in page


# --- services and integrations ---------------------------------------------------------------------

def test_the_services_pages_show_customer_policy_and_integrations_but_never_a_key(console, setup):
    c = console(Role.VIEWER)
    listing = text(c.get("/services"))
    assert "checkout" in listing and "Acme" in listing and ">default</a>" in listing
    page = text(c.get("/services/checkout"))
    assert "Prometheus Alertmanager" in page and "http://vigil.test/api/v1/alerts/alertmanager" in page
    assert "http://vigil.test/v2/enqueue" in page and 'data-copy="#intake-generic"' in page
    assert "…" + setup["keys"]["generic"][-4:] in page
    for key in setup["keys"].values():
        assert key not in page and key not in listing
    assert "Rotate key" not in page and "Add an integration" not in page


def _session_cookie(client) -> str:
    """The signed session cookie's payload, as anyone holding the cookie could read it."""
    cookie = client.get_cookie("vigil_session").value
    body = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return (zlib.decompress(raw) if cookie.startswith(".") else raw).decode()


def test_a_rotated_key_is_shown_once_and_the_old_key_stops_working(console, setup, session, client):
    admin = console(Role.ADMIN)
    old = setup["keys"]["generic"]
    integration = fresh(session).scalars(select(Integration).where(Integration.name == "generic")).one()

    response = admin.post(f"/services/checkout/integrations/{integration.id}/rotate-key")

    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = text(response)
    assert "it is shown only this once" in page and "curl -sS -X POST http://vigil.test/api/v1/alerts" in page
    new = page.split('id="new-key" class="secret">')[1].split("<")[0]
    assert len(new) == 32 and new != old
    assert post_alert(client, old).status_code == 401
    assert post_alert(client, new).status_code == 202
    assert new not in text(admin.get("/services/checkout"))  # not shown again, nor flashed
    assert new not in _session_cookie(admin.client)
    [event] = fresh(session).scalars(select(AuditEvent)).all()
    assert (event.action, event.target, event.details["key_hint"]["to"]) == (
        "integration.rotate_key", "checkout/generic", new[-4:])
    assert new not in json.dumps(event.details)


@pytest.mark.parametrize("kind, snippet", [
    ("alertmanager", "http_config:\n          authorization:\n            type: Bearer"),
    ("pagerduty", "routing_key: "),
    ("grafana", "Authorization header scheme: Bearer"),
])
def test_the_key_page_says_how_each_sender_uses_the_key(console, setup, session, kind, snippet):
    integration = fresh(session).scalars(select(Integration).where(Integration.name == kind)).one()
    page = text(console(Role.ADMIN).post(f"/services/checkout/integrations/{integration.id}/rotate-key"))
    assert snippet in page


def test_admin_creates_an_integration_and_its_key_works(console, setup, session, client):
    admin = console(Role.ADMIN)
    response = admin.post("/services/checkout/integrations", {"name": "cron-jobs", "type": "generic"})
    assert response.status_code == 200
    key = text(response).split('id="new-key" class="secret">')[1].split("<")[0]
    assert post_alert(client, key, "backup failed").status_code == 202
    row = fresh(session).scalars(select(Integration).where(Integration.name == "cron-jobs")).one()
    assert (row.type, row.key_hint, row.service.name) == ("generic", key[-4:], "checkout")
    assert audit_actions(session) == [("integration.create", "checkout/cron-jobs")]


@pytest.mark.parametrize("form, message", [
    ({"name": "generic", "type": "generic"}, "checkout already has an integration called &#39;generic&#39;"),
    ({"name": "x", "type": "nagios"}, "Not a valid choice"),
    ({"name": "", "type": "generic"}, "This field is required"),
    ({"name": "n" * 101, "type": "generic"}, "Field cannot be longer than 100 characters"),
    ({"name": "tab\there", "type": "generic"}, "at most 100 printable characters"),
])
def test_bad_integrations_are_refused_clearly(console, setup, session, form, message):
    response = console(Role.ADMIN).post("/services/checkout/integrations", form)
    assert response.status_code == 422
    assert message in text(response)
    assert len(fresh(session).scalars(select(Integration)).all()) == 4
    assert audit_actions(session) == []


def test_the_test_alert_opens_an_incident_through_the_intake(console, setup, session):
    admin = console(Role.ADMIN)
    generic = fresh(session).scalars(select(Integration).where(Integration.name == "generic")).one()

    response = admin.post(f"/services/checkout/integrations/{generic.id}/test")

    incident = fresh(session).scalars(select(Incident)).one()
    assert response.status_code == 303 and response.headers["Location"] == f"/incidents/{incident.id}"
    assert incident.title == "Test alert from the console by admin@ops.example"
    assert (incident.source_severity, incident.service_id, incident.origin) == ("info", setup["service"], "alert")
    assert audit_actions(session) == [("integration.test_alert", "checkout/generic")]
    assert f"it opened incident #{incident.id}" in text(admin.get(f"/services/checkout"))

    admin.post(f"/services/checkout/integrations/{generic.id}/test")  # while it is open: counted, not paged
    assert [i.alert_count for i in fresh(session).scalars(select(Incident))] == [2]


def test_a_test_alert_needs_a_generic_integration(console, setup, session):
    prometheus = fresh(session).scalars(select(Integration).where(Integration.name == "alertmanager")).one()
    admin = console(Role.ADMIN)
    response = admin.post(f"/services/checkout/integrations/{prometheus.id}/test")
    assert response.status_code == 303
    assert "a test alert goes through a generic integration" in text(admin.get("/services/checkout"))
    assert fresh(session).scalars(select(Incident)).all() == []


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER, Role.OPS_ENGINEER])
def test_only_admins_change_integrations(console, setup, session, client, role):
    c = console(role)
    generic = fresh(session).scalars(select(Integration).where(Integration.name == "generic")).one()
    assert c.post(f"/services/checkout/integrations/{generic.id}/rotate-key").status_code == 403
    assert c.post(f"/services/checkout/integrations/{generic.id}/test").status_code == 403
    assert c.post("/services/checkout/integrations", {"name": "new", "type": "generic"}).status_code == 403
    assert post_alert(client, setup["keys"]["generic"]).status_code == 202  # the key still works
    assert len(fresh(session).scalars(select(Integration)).all()) == 4
    assert audit_actions(session) == []


def test_tampered_service_names_and_integration_ids_are_404(console, setup, make, session):
    other = make.service("billing", customer=make.customer("globex"), types=("generic",))
    theirs = fresh(session).scalars(select(Integration).where(Integration.service_id == other.service.id)).one()
    admin = console(Role.ADMIN)
    assert admin.get("/services/nope").status_code == 404
    assert admin.post("/services/nope/integrations", {"name": "x", "type": "generic"}).status_code == 404
    assert admin.post(f"/services/checkout/integrations/{theirs.id}/rotate-key").status_code == 404
    assert admin.post(f"/services/checkout/integrations/{theirs.id}/test").status_code == 404
    assert admin.post("/services/checkout/integrations/999999/rotate-key").status_code == 404
    assert fresh(session).get(Integration, theirs.id).key_hint == other.keys["generic"][-4:]


def test_script_in_names_renders_escaped(console, make, session, clock):
    customer = make.customer("evil")
    customer.name = "<script>alert('customer')</script>"
    customer.contacts = [{"name": "<script>alert('contact')</script>", "email": "a@evil.example", "phone": None}]
    session.commit()
    make.service("<img src=x onerror=alert('service')>", customer=customer, types=("generic",))
    c = console(Role.ADMIN)
    for url in ("/services", "/services/<img src=x onerror=alert('service')>", "/customers", "/customers/evil",
                "/policies"):
        page = c.get(url)
        assert page.status_code == 200, url
        body = text(page)
        assert "<script>alert(" not in body and "<img src=x" not in body
        assert "&lt;img src=x onerror=alert(&#39;service&#39;)&gt;" in body
    assert "&lt;script&gt;alert(&#39;contact&#39;)" in text(c.get("/customers/evil"))
    assert "&lt;script&gt;alert(&#39;customer&#39;)" in text(c.get("/services"))


# --- customers -------------------------------------------------------------------------------------

def test_customers_show_tailored_times_and_the_defaults(console, make, session, clock):
    make.customer("acme", sla_minutes={"1": 60})
    globex = make.customer("globex")
    globex.uptime_target = 99.95
    globex.contacts = [{"name": "Sam Ito", "email": "sam@globex.example", "phone": "+15005550006"}]
    session.commit()
    make.service("messaging", customer=globex, types=())
    c = console(Role.VIEWER)
    listing = text(c.get("/customers"))
    assert "60 min" in listing and "tailored" in listing
    assert "120 min" in listing and "360 min" in listing and "2880 min" in listing and "published SLA" in listing
    page = text(c.get("/customers/globex"))
    assert "99.95 %" in page and "Sam Ito" in page and "tel:+15005550006" in page
    assert '<a href="/services/messaging">messaging</a>' in page
    assert "Change response times" not in page


def test_installation_defaults_from_vigil_yaml_are_shown_as_default(console, make, session, clock):
    session.add(Setting(key=sla_policy.SLA_SETTING, value={"1": 90}))
    session.commit()
    make.customer("acme")
    page = text(console(Role.VIEWER).get("/customers/acme"))
    assert "90 min" in page and "default" in page


def test_admin_tailors_response_times_for_incidents_opened_from_now_on(console, make, session, clock):
    make.customer("acme", sla_minutes={"2": 240})
    admin = console(Role.ADMIN)
    page = text(admin.get("/customers/acme"))
    assert "incidents opened from now on" in page and "reclassified" in page

    response = admin.post("/customers/acme", {"class_1": "30", "class_2": "", "class_3": "1440",
                                              "uptime_target": "99.9"})

    assert response.status_code == 303
    acme = fresh(session).scalars(select(Customer).where(Customer.slug == "acme")).one()
    assert (acme.sla_minutes, acme.uptime_target) == ({"1": 30, "3": 1440}, 99.9)
    due = sla_policy.response_due_at(session, customer=acme, severity_class=1, opened_at=clock())
    assert due == clock() + timedelta(minutes=30)
    [event] = session.scalars(select(AuditEvent)).all()
    assert (event.action, event.target, event.actor) == ("customer.update_sla", "acme", "admin@ops.example")
    assert event.details["sla_minutes"] == {"from": {"2": 240}, "to": {"1": 30, "3": 1440}}


@pytest.mark.parametrize("form, message", [
    ({"class_1": "0"}, "class 1: the response time must be a whole number of minutes from 1 to 43200"),
    ({"class_2": "-5"}, "class 2: the response time must be a whole number"),
    ({"class_3": str(10 ** 9)}, "class 3: the response time must be a whole number"),
    ({"class_1": "soon"}, "Not a valid integer value"),
    ({"class_1": "1.5"}, "Not a valid integer value"),
    ({"class_1": "9" * 5000}, "Not a valid integer value"),
    ({"uptime_target": "89.9"}, "uptime target: a percentage from 90 to 100"),
    ({"uptime_target": "100.1"}, "uptime target: a percentage from 90 to 100"),
    ({"uptime_target": "nan"}, "uptime target: a percentage from 90 to 100"),
    ({"uptime_target": "high"}, "Not a valid float value"),
])
def test_bad_terms_are_refused_clearly_and_nothing_changes(console, make, session, clock, form, message):
    make.customer("acme", sla_minutes={"1": 60})
    response = console(Role.ADMIN).post("/customers/acme", form)
    assert response.status_code == 422
    assert message in text(response)
    acme = fresh(session).scalars(select(Customer).where(Customer.slug == "acme")).one()
    assert (acme.sla_minutes, acme.uptime_target) == ({"1": 60}, None)
    assert audit_actions(session) == []


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER, Role.OPS_ENGINEER])
def test_only_admins_change_customer_terms(console, make, session, clock, role):
    make.customer("acme")
    assert console(role).post("/customers/acme", {"class_1": "5"}).status_code == 403
    assert fresh(session).scalars(select(Customer)).one().sla_minutes == {}


def test_tampered_customer_slugs_are_404(console, make, clock):
    make.customer("acme")
    admin = console(Role.ADMIN)
    assert admin.get("/customers/nope").status_code == 404
    assert admin.post("/customers/nope", {"class_1": "5"}).status_code == 404
    assert admin.get("/customers/" + "a" * 65).status_code == 404
