"""Customer-scoped API keys: a key made for one customer reads that customer's incidents and SLA
reports and nothing else; asking for another customer's is refused, and nothing is stored."""
from __future__ import annotations

from click.testing import CliRunner

from incidents.cli import main
from incidents.domain.enums import Source
from incidents.models import ApiKey
from incidents.services import api_keys
from incidents.services.actor import Actor
from incidents.services.incidents import report
from tests.helpers import bearer


def _world(make, session):
    acme, globex = make.customer("acme"), make.customer("globex")
    actor = Actor("tests")
    ours = report(session, title="Checkout down", description="", customer_slug="acme", actor=actor,
                  source=Source.API)
    theirs = report(session, title="Messages not sending", description="", customer_slug="globex",
                    actor=actor, source=Source.API)
    session.commit()
    _, key = api_keys.create(session, name="acme dashboard", scope="read", customer="acme")
    session.commit()
    return acme, globex, ours.id, theirs.id, key


def test_lists_and_reads_only_its_customers_incidents(client, make, session):
    _, _, ours, theirs, key = _world(make, session)
    listed = client.get("/api/v1/incidents", headers=bearer(key))
    assert listed.status_code == 200
    assert [i["id"] for i in listed.get_json()["items"]] == [ours]
    assert client.get(f"/api/v1/incidents/{ours}", headers=bearer(key)).status_code == 200
    assert client.get(f"/api/v1/incidents/{ours}/timeline", headers=bearer(key)).status_code == 200
    # Another customer's incident does not exist as far as this key can tell.
    for path in (f"/api/v1/incidents/{theirs}", f"/api/v1/incidents/{theirs}/timeline",
                 f"/api/v1/incidents/{theirs}/alerts"):
        answer = client.get(path, headers=bearer(key))
        assert answer.status_code == 404, path
        assert "Messages not sending" not in answer.get_data(as_text=True)


def test_naming_another_customer_is_refused(client, make, session):
    *_, key = _world(make, session)
    answer = client.get("/api/v1/incidents?customer=globex", headers=bearer(key))
    assert answer.status_code == 403
    assert "acme" in answer.get_json()["error"]["message"]
    assert client.get("/api/v1/incidents?customer=acme", headers=bearer(key)).status_code == 200


def test_a_customers_key_cannot_act_or_read_ops_data(client, make, session):
    _, _, ours, _, key = _world(make, session)
    assert client.post(f"/api/v1/incidents/{ours}/acknowledge", headers=bearer(key)).status_code == 403
    assert client.post("/api/v1/incidents", headers=bearer(key),
                       json={"title": "x", "description": "", "customer": "acme"}).status_code == 403
    assert client.get("/api/v1/api-keys", headers=bearer(key)).status_code == 403
    assert client.get("/api/v1/oncall", headers=bearer(key)).status_code in (403, 404)


def test_creating_one_over_the_api(client, make, session):
    make.customer("acme")
    admin = make.api_key("admin")
    made = client.post("/api/v1/api-keys", headers=bearer(admin),
                       json={"name": "acme grafana", "scope": "read", "customer": "acme"})
    assert made.status_code == 201
    assert made.get_json()["customer"] == "acme"
    listed = client.get("/api/v1/api-keys", headers=bearer(admin)).get_json()["items"]
    assert {k["name"]: k["customer"] for k in listed} == {"tests-admin": None, "acme grafana": "acme"}


def test_bad_customer_keys_are_refused_and_nothing_stored(client, make, session):
    make.customer("acme")
    admin = make.api_key("admin")
    before = session.query(ApiKey).count()
    for body, words in (({"name": "k", "scope": "read", "customer": "nope"}, "no customer 'nope'"),
                        ({"name": "k", "scope": "write", "customer": "acme"}, "can only read"),
                        ({"name": "k", "scope": "admin", "customer": "acme"}, "can only read")):
        answer = client.post("/api/v1/api-keys", headers=bearer(admin), json=body)
        assert answer.status_code == 422, body
        assert words in answer.get_data(as_text=True)
    session.expire_all()
    assert session.query(ApiKey).count() == before


def test_command_line_key_for_a_customer(test_config, make, session):
    make.customer("acme")
    env = {"DATABASE_URL": test_config.database_url, "VIGIL_INSTANCE_PATH": str(test_config.instance_path),
           "SECRET_KEY": test_config.secret_key}
    result = CliRunner().invoke(main, ["create-api-key", "--name", "acme", "--scope", "read",
                                       "--customer", "acme"], env=env)
    assert result.exit_code == 0, result.output
    assert "customer acme" in result.output
    refused = CliRunner().invoke(main, ["create-api-key", "--name", "x", "--scope", "write",
                                        "--customer", "acme"], env=env)
    assert refused.exit_code != 0
    assert "can only read" in refused.output
