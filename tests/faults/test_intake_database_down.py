"""Regression: with PostgreSQL down, the intake answered 500 without Retry-After. Its fast path
takes a raw pool connection (incidents.web.session.autocommit_connection), and the pool raised
psycopg's own OperationalError, which no error handler knew. A sender must be told to retry: 503
with Retry-After, on every intake door. A closed loopback port is a database that is down."""
from __future__ import annotations

import pytest

import config as settings
from incidents.app import create_app
from tests.e2e.conftest import free_port

DOORS = [("/api/v1/alerts", {"summary": "Checkout is down", "severity": "critical", "dedup_key": "x"}),
         ("/api/v1/alerts/alertmanager", {"version": "4", "status": "firing", "alerts": []}),
         ("/v2/enqueue", {"routing_key": "k" * 32, "event_action": "trigger",
                          "payload": {"summary": "down", "source": "db", "severity": "critical"}})]


@pytest.fixture(scope="module")
def client_of_a_down_database(tmp_path_factory):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/vigil"  # nothing listens there
    app = create_app(settings.Config(database_url=url, broker_url="memory://", secret_key="s" * 48,
                                     public_url="http://vigil.test",
                                     instance_path=tmp_path_factory.mktemp("instance")))
    return app.test_client()


@pytest.mark.parametrize("path, body", DOORS, ids=[d[0] for d in DOORS])
def test_intake_answers_503_with_retry_after_while_postgresql_is_down(client_of_a_down_database, path, body):
    response = client_of_a_down_database.post(path, json=body, headers={"Authorization": "Bearer some-key"})
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"]["code"] == "unavailable"
