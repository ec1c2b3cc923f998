"""Schemathesis over /api/openapi.json, in process (WSGI): every operation, every check.

No answer is a 500, and every answer matches what the document says of it: its status, its body,
its content type and its headers. Requests carry an admin API key (and the intake endpoints a
valid integration key); the `ignored_auth` check re-sends each authenticated request without a
key and with a wrong one, so the 401s are exercised and must be documented too.

Each operation gets a fresh world (tables are emptied after every test): a customer and service
with every kind of integration key and a heartbeat, a rotation, incidents in each state, a breach
with a playbook run. Positive cases draw path ids from that world half the time, so operations
reach their real work, not only 404s. Destructive operations stay in: before each case every key is made valid
again (`_revive_keys`), so a DELETE /api-keys/{id} that revoked the fuzzing key cannot turn the
cases after it into 401s. A playbook run's steps (which rotate the keys) run in a worker, which
this in-process test never starts, so starting a run only records it.

Bounded for CI: 25 generated cases per operation (FUZZ_MAX_EXAMPLES), derandomized so a
failure reproduces; no deadline. Run alone: `pytest -m fuzz tests/test_api_fuzz.py`.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import update

import config as vigil_config
from incidents import clock as vigil_clock
from incidents.app import create_app
from incidents.domain.enums import Source
from incidents.models import ApiKey, Integration, Setting
from incidents.services import api_keys, heartbeats, lifecycle, listing
from incidents.services import incidents as incident_service
from incidents.services.actor import Actor
from incidents.services.playbook import runs

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
ADMIN = Actor("lee@ops.example", None)
INTAKE_KIND = {"/api/v1/alerts": "generic", "/api/v1/alerts/alertmanager": "alertmanager",
               "/api/v1/alerts/grafana": "grafana", "/v2/enqueue": "pagerduty"}
PLAYBOOK = {"notify_customers": "all", "template": "Dear {customer}: {summary}. We are {actions}.",
            "subject": "Security incident notice", "auto_start": False, "secret_store": "vigil",
            "rotate": [{"type": "vigil_api_keys"}, {"type": "user_sessions"}],
            "drill": {"every": "quarter", "recipients": ["lee@ops.example"], "targets": {}}}


@dataclass
class World:
    admin_key: str
    integration_keys: dict[str, str]
    ids: dict[str, list] = field(default_factory=dict)  # path parameter -> values that exist


def _seed(session, make) -> World:
    make.rules()
    acme = make.customer("acme")
    service = make.service("checkout", customer=acme)
    make.rotation("out-of-hours")
    admin = make.api_key("admin", name="fuzz")
    key_ids = [k.id for k in api_keys.list_keys(session)]
    incidents = [incident_service.report(session, title=title, description="seen by the fuzz test",
                                         customer_slug="acme", actor=ADMIN, source=Source.API).id
                 for title in ("Unauthorized access to the customer database", "Checkout is down",
                               "Slow search", "A typo on the invoice")]
    session.commit()
    lifecycle.acknowledge(session, incident_id=incidents[1], actor=ADMIN, source=Source.API)
    lifecycle.resolve(session, incident_id=incidents[3], actor=ADMIN, source=Source.API, note="fixed")
    session.add(Setting(key=runs.SETTING, value=PLAYBOOK))
    session.commit()
    run = runs.start(session, incident_id=incidents[0], mode="live", actor=ADMIN, source=Source.API,
                     where=None, now=vigil_clock.now())
    _, ping_key = heartbeats.create(session, service=service.service, name="nightly-backup", title="Backup",
                                    severity_class=2, interval_seconds=3600, grace_seconds=300,
                                    now=vigil_clock.now())
    session.commit()
    return World(admin, service.keys, {
        "incident_id": incidents, "key_id": key_ids, "run_id": [run.id], "position": [1, 2],
        "name": ["out-of-hours"], "email": ["ana@ops.example"], "service": ["checkout"], "key": [ping_key],
        "routing_key": [service.keys["pagerduty"]]})


@pytest.fixture
def world(session, make, clock) -> World:  # noqa: ARG001 (the clock stands still at 08:30)
    seeded = _seed(session, make)
    KNOWN.clear()
    KNOWN.update(seeded.ids)
    return seeded


def _document() -> dict:
    """The OpenAPI document, read when the tests are collected (the lazy `from_fixture` loader
    does not run on pytest 9.2). Making the document touches no database."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(vigil_config.Config(
            database_url=f"sqlite:///{Path(tmp) / 'unused.db'}", broker_url="memory://",
            secret_key="fuzz-" + "x" * 40, public_url="http://vigil.test", instance_path=Path(tmp),
            testing=True))
        return app.test_client().get("/api/openapi.json").get_json()


KNOWN: dict[str, list] = {}  # path parameter -> values that exist in this test's world
schema = schemathesis.openapi.from_dict(_document(), config=schemathesis.Config.from_dict({
    "base-url": "http://vigil.test",
    # Keys come from the world (see _headers); generated ones would only test the 401 path,
    # which `ignored_auth` already probes on every operation.
    # NUL is refused in any JSON string (a 400 every body documents): PostgreSQL cannot store it.
    "generation": {"mode": "all", "deterministic": True, "database": "none",
                   "with-security-parameters": False, "allow-x00": False},
    # A 422 is also the documented answer to a well-formed value that names nothing (no such
    # customer, user or cursor) or breaks a rule between fields (`to` before `from`).
    "checks": {"positive_data_acceptance": {"expected-statuses": [
        "2xx", "401", "403", "404", "409", "422", "429"]}},
}))


@schema.hook
def flatmap_case(context, case):
    """Half the positive cases name things that exist, so they get past the 404."""
    if case.meta is None or case.meta.generation.mode.value != "positive":
        return st.just(case)
    if case.operation.path == "/v2/enqueue" and isinstance(case.body, dict):
        case.body = {**case.body, "routing_key": KNOWN["routing_key"][0]}  # PagerDuty's key is in the body
    known = {name: KNOWN[name] for name in (case.path_parameters or {}) if KNOWN.get(name)}
    if not known:
        return st.just(case)
    return st.one_of(st.just(case), st.fixed_dictionaries(
        {name: st.sampled_from(values) for name, values in known.items()}
    ).map(lambda chosen: _with_path(case, chosen)))


def _with_path(case, chosen: dict):
    case.path_parameters = {**case.path_parameters, **chosen}
    return case


def _revive_keys(app) -> None:
    """Every key the fuzz test uses works again, whatever the previous case revoked."""
    engine = app.extensions["vigil.db"].engine
    with engine.begin() as conn:
        conn.execute(update(ApiKey).values(revoked_at=None))
        conn.execute(update(Integration).values(revoked_at=None))


def _headers(case, world: World) -> dict:
    kind = INTAKE_KIND.get(case.operation.path)
    key = world.integration_keys[kind] if kind else world.admin_key
    return {"Authorization": f"Bearer {key}"}


if os.environ.get("FUZZ_ONLY"):  # e.g. FUZZ_ONLY='^/v2/' to run some operations alone
    schema = schema.include(path_regex=os.environ["FUZZ_ONLY"], method=os.environ.get("FUZZ_METHOD"))


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented(case, app, world):
    _revive_keys(app)
    case.operation.schema.app = app
    case.call_and_validate(app=app, headers=_headers(case, world))


# --- what the fuzzing found, kept as plain regression tests ------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/incidents/2147483648"), ("POST", "/api/v1/incidents/2147483648/acknowledge"),
    ("DELETE", "/api/v1/api-keys/2147483648"), ("GET", "/api/v1/playbook-runs/2147483648"),
    ("DELETE", "/api/v1/rotations/out-of-hours/overrides/2147483648"),
    ("DELETE", "/api/v1/services/checkout/maintenance-windows/2147483648")])
def test_an_id_past_what_the_database_holds_is_not_found(client, make, method, path):
    # PostgreSQL refused the value (a 400 the document did not list) where no row is a 404.
    admin = {"Authorization": f"Bearer {make.api_key('admin')}"}

    response = client.open(path, method=method, headers=admin)

    assert response.status_code == 404, response.json


def test_a_cursor_past_what_the_database_holds_is_refused_as_a_cursor(client, make):
    admin = {"Authorization": f"Bearer {make.api_key('admin')}"}

    response = client.get(f"/api/v1/incidents?cursor={listing.encode_cursor(2**31)}", headers=admin)

    assert response.status_code == 422
    assert response.json["error"]["message"].startswith("cursor: not a cursor this API gave out")


def test_the_document_describes_path_ids_and_error_bodies(client):
    spec = client.get("/api/openapi.json").json
    parameter = spec["paths"]["/api/v1/incidents/{incident_id}"]["get"]["parameters"][0]
    assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 2147483647}
    assert spec["components"]["schemas"]["HTTPError"]["required"] == ["error"]
    missing = client.get("/api/v1/incidents/1").json  # no key: a 401 in that shape
    assert set(missing) == {"error"} and {"code", "message"} <= set(missing["error"])


def _secured(client) -> list[tuple[str, str, dict]]:
    """(method, URL with every id 1, operation) of each operation that needs an API key."""
    spec = client.get("/api/openapi.json").json
    found = []
    for path, operations in spec["paths"].items():
        url = path.replace("{name}", "out-of-hours").replace("{email}", "ana@ops.example")
        url = url.replace("{service}", "checkout").replace("{key}", "nope")
        for parameter in ("incident_id", "key_id", "run_id", "position", "override_id", "window_id"):
            url = url.replace("{" + parameter + "}", "1")
        found += [(method.upper(), url, op) for method, op in operations.items() if op.get("security")]
    assert len(found) > 30
    return found


def test_every_operation_that_needs_a_key_answers_401_without_one_as_documented(client):
    for method, url, operation in _secured(client):
        response = client.open(url, method=method)
        assert (response.status_code, "401" in operation["responses"]) == (401, True), (method, url)
        assert response.json["error"]["code"] == "unauthorized"


def test_every_403_a_customers_key_meets_is_documented(client, session, make):
    make.customer("acme")
    _, key = api_keys.create(session, name="acme-dashboard", scope="read", customer="acme")
    session.commit()
    refused = 0
    for method, url, operation in _secured(client):
        response = client.open(url, method=method, headers={"Authorization": f"Bearer {key}"})
        if response.status_code == 403:
            refused += 1
            assert "403" in operation["responses"], (method, url)
    assert refused > 20  # everything but the customer's own incidents and reports
