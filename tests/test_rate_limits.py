"""Rate limits: per integration key on intake, per API key on the API, failed sign-ins per account
and per address; a 429 says when to retry. Counters in memory on the embedded default, in Redis
when the tests run with one (VIGIL_TEST_BROKER_URL), under a key prefix of their own."""
from __future__ import annotations

import dataclasses
import os
import uuid

import pytest
from sqlalchemy import func, select

import config as settings
from incidents.app import create_app
from incidents.models import Alert
from incidents.web import limits
from tests.console.conftest import csrf_from, sign_in
from tests.factories import PASSWORD
from tests.helpers import bearer

REDIS_URL = os.environ.get("VIGIL_TEST_BROKER_URL", "")
SMALL = settings.RateLimitSettings(intake="3/hour", api="3/hour", login_account="2/hour", login_ip="4/hour")


@pytest.fixture
def limited(app, test_config):
    """An app on the test database with small limits (`app` is asked for so tables are emptied)."""
    made = []

    def build(prefix: str | None = None, **rates):
        prefix = prefix or f"vigil-test-{uuid.uuid4().hex}"
        storage = REDIS_URL if REDIS_URL.startswith("redis") else None
        rate_limits = dataclasses.replace(SMALL, **{"storage_url": storage, "key_prefix": prefix, **rates})
        built = create_app(dataclasses.replace(test_config, rate_limits=rate_limits))
        made.append((built, prefix if rate_limits.storage_url == REDIS_URL else None))
        return built

    yield build
    for built, prefix in made:
        built.extensions["vigil.db"].engine.dispose()
        if prefix:  # delete this test's counters from the tests' Redis, nothing else
            redis = built.extensions[limits.EXTENSION].storage.get_connection()
            for key in redis.scan_iter(f"*{prefix}*"):
                redis.delete(key)


def _generic(client, key, dedup="disk-full"):
    return client.post("/api/v1/alerts", json={"summary": "Disk full on db-1", "dedup_key": dedup},
                       headers=bearer(key) if key else {})


def _assert_429(response, code="rate_limited"):
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    assert response.json["error"]["code"] == code


def test_a_flooding_integration_gets_429_while_another_still_gets_202(limited, make, session):
    client = limited().test_client()
    flooding = make.service("checkout").keys["generic"]
    other = make.service("search", customer=make.customer("globex")).keys["generic"]
    assert [_generic(client, flooding, f"a{n}").status_code for n in range(3)] == [202] * 3
    refused = _generic(client, flooding, "a3")
    _assert_429(refused)
    assert "integration key" in refused.json["error"]["message"]
    assert _generic(client, other).status_code == 202
    session.commit()
    assert session.scalar(select(func.count()).select_from(Alert)) == 4  # the refused one is not stored


@pytest.mark.skipif(not REDIS_URL.startswith("redis"), reason="counters are shared through Redis only")
def test_web_processes_share_their_counts_through_redis(limited, make):
    prefix = f"vigil-test-{uuid.uuid4().hex}"
    first, second = limited(prefix).test_client(), limited(prefix).test_client()  # two web processes
    key = make.service().keys["generic"]
    assert [_generic(c, key, f"s{n}").status_code for n, c in enumerate((first, second, first))] == [202] * 3
    _assert_429(_generic(second, key, "s3"))


def test_intake_limit_is_shared_by_an_integrations_endpoints_and_reaches_pagerduty_keys(limited, make):
    client = limited().test_client()
    keys = make.service().keys
    for n in range(3):
        response = client.post("/v2/enqueue", json={"routing_key": keys["pagerduty"], "event_action": "trigger",
                                                     "dedup_key": f"p{n}", "payload": {
                                                         "summary": "Checkout down", "source": "web-1",
                                                         "severity": "critical"}})
        assert response.status_code == 202
    _assert_429(client.post("/v2/enqueue", json={"routing_key": keys["pagerduty"], "event_action": "trigger",
                                                 "payload": {}}))
    assert _generic(client, keys["generic"]).status_code == 202  # another integration, its own count


def test_requests_without_a_key_are_counted_by_address_apart_from_keyed_ones(limited, make):
    client = limited().test_client()
    key = make.service().keys["generic"]
    assert [_generic(client, None).status_code for _ in range(3)] == [401] * 3
    _assert_429(_generic(client, None))
    assert _generic(client, key).status_code == 202
    elsewhere = client.post("/api/v1/alerts", json={}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert elsewhere.status_code == 401  # another address has a count of its own


def test_an_oversized_body_is_a_413_and_leaves_the_counts_alone(limited, make):
    client = limited().test_client()
    key = make.service().keys["generic"]
    assert [_generic(client, key, f"o{n}").status_code for n in range(2)] == [202] * 2
    huge = b'{"routing_key": "' + b"x" * (2 << 20) + b'"}'
    assert client.post("/v2/enqueue", data=huge, content_type="application/json").status_code == 413
    assert client.post("/login", data={"email": "x" * (2 << 20), "password": "x"}).status_code == 413
    assert _generic(client, key, "o2").status_code == 202
    _assert_429(_generic(client, key, "o3"))  # the same count as before the oversized requests


def test_api_is_limited_per_api_key(limited, make):
    client = limited().test_client()
    busy, quiet = make.api_key("read", "busy"), make.api_key("read", "quiet")
    assert [client.get("/api/v1/incidents", headers=bearer(busy)).status_code for _ in range(3)] == [200] * 3
    refused = client.get("/api/v1/incidents", headers=bearer(busy))
    _assert_429(refused)
    assert "API key" in refused.json["error"]["message"]
    assert client.get("/api/v1/incidents", headers=bearer(quiet)).status_code == 200


def _login(client, email, password, **kw):
    page = client.get("/login", **kw)
    return client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "email": email, "password": password}, **kw)


def test_failed_sign_ins_are_limited_per_account(limited, make, clock):
    built = limited()
    make.console_user("ana@ops.example")
    ben = make.console_user("ben@ops.example")
    client = built.test_client()
    for _ in range(2):
        assert _login(client, "ana@ops.example", "Wrong-Password-99!").status_code == 401
        clock.advance(minutes=16)  # past the lockout, so only the rate limit can refuse
    refused = _login(client, "ana@ops.example", PASSWORD)  # even the right password waits now
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert "Too many failed sign-ins for this account" in refused.get_data(as_text=True)
    assert "text/html" in refused.content_type  # the console's error page, not JSON
    sign_in(built.test_client(), ben)  # another account signs in as usual


def test_failed_sign_ins_are_limited_per_address_and_successes_never_count(limited, make, clock):
    built = limited(login_ip="2/hour")
    ana = make.console_user("ana@ops.example")
    for _ in range(3):  # more successful sign-ins than the address may fail
        sign_in(built.test_client(), ana)
        clock.advance(seconds=30)  # a fresh second-factor code each time
    client = built.test_client()
    for n in range(2):
        assert _login(client, f"guess{n}@ops.example", "Wrong-Password-99!").status_code == 401
        clock.advance(minutes=16)
    refused = _login(client, "ana@ops.example", PASSWORD)
    assert refused.status_code == 429
    assert "from your address" in refused.get_data(as_text=True)
    elsewhere = _login(built.test_client(), "ana@ops.example", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert elsewhere.status_code == 302


def test_health_checks_and_the_openapi_document_are_not_limited(limited):
    client = limited(api="1/hour").test_client()
    assert {client.get("/healthz").status_code for _ in range(3)} == {200}
    assert {client.get("/api/openapi.json").status_code for _ in range(3)} == {200}


def test_a_limit_set_to_off_is_not_applied(limited, make):
    client = limited(api="").test_client()
    key = make.api_key("read")
    assert {client.get("/api/v1/incidents", headers=bearer(key)).status_code for _ in range(5)} == {200}


def test_unreachable_redis_never_stops_intake_and_limits_still_hold(limited, make):
    client = limited(storage_url="redis://127.0.0.1:1/0").test_client()  # nothing listens on port 1
    key = make.service().keys["generic"]
    assert [_generic(client, key, f"d{n}").status_code for n in range(3)] == [202] * 3
    _assert_429(_generic(client, key, "d3"))  # counted in the process's memory meanwhile


def test_openapi_documents_the_429_on_intake_and_api_operations(app):
    paths = app.test_client().get("/api/openapi.json").json["paths"]
    assert "429" in paths["/api/v1/alerts"]["post"]["responses"]
    assert "429" in paths["/v2/enqueue"]["post"]["responses"]
    assert "429" in paths["/api/v1/incidents"]["get"]["responses"]
    assert "200" in paths["/api/v1/incidents"]["get"]["responses"]
    assert "429" not in paths["/healthz"]["get"]["responses"]


def _load(**env):
    return settings.load({"VIGIL_INSTANCE_PATH": os.environ.get("TMPDIR", "/tmp") + "/vigil-limits-cfg", **env})


def test_limits_come_from_the_environment_with_defaults():
    defaults = _load().rate_limits
    assert (defaults.intake, defaults.api) == ("600/minute", "1200/minute")
    rates = _load(INTAKE_RATE_LIMIT="10/second;600/hour", API_RATE_LIMIT="off", LOGIN_RATE_LIMIT="5/minute",
                  LOGIN_IP_RATE_LIMIT="50 per hour").rate_limits
    assert (rates.intake, rates.api, rates.login_account, rates.login_ip) == (
        "10/second;600/hour", "", "5/minute", "50 per hour")


@pytest.mark.parametrize("name, value", [("INTAKE_RATE_LIMIT", "lots"), ("API_RATE_LIMIT", "0/minute"),
                                         ("LOGIN_IP_RATE_LIMIT", "5/fortnight")])
def test_a_malformed_limit_is_named(name, value):
    with pytest.raises(settings.ConfigError, match=f"^{name}: expected a rate like 600/minute"):
        _load(**{name: value})


def test_counters_go_to_redis_when_the_broker_is_redis_and_to_memory_otherwise():
    assert limits.storage_url(_load()) == "memory://"
    assert limits.storage_url(_load(CELERY_BROKER_URL="redis://127.0.0.1:6379/0")) == "redis://127.0.0.1:6379/0"
    assert limits.storage_url(_load(CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
                                    RATELIMIT_STORAGE_URL="redis://limits:6379/2")) == "redis://limits:6379/2"
    with pytest.raises(settings.ConfigError, match="^RATELIMIT_STORAGE_URL: unsupported scheme 'http'"):
        _load(RATELIMIT_STORAGE_URL="http://user:secret@x")
