"""GET /metrics: what an operator's Prometheus reads as alerts arrive, incidents open and pages go
out, in the text format Prometheus parses; and who may read it."""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

import workers.tasks.pages  # noqa: F401  (registers the pages.* tasks)
from incidents.app import create_app
from incidents.models import Escalation, EscalationPolicy, Incident, Page
from incidents.providers.base import PermanentError
from incidents.providers.fake import FakeSms
from incidents.services.engine.sending import Providers
from tests.helpers import bearer, fixture
from tests.test_up import up_env, vigil_up, wait_for  # noqa: F401  (fixtures: `vigil up` as a user runs it)

TOKEN = "scrape-token-0123456789"


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}; fails unless Prometheus can parse it."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_alerts_received_and_incidents_opened_are_counted(client, session, make, clock):
    make.rules()
    svc = make.service()
    before = scrape(client)
    firing = fixture("alertmanager-v4-firing.json")  # two alerts of class 1
    for _ in range(2):  # the second time both are duplicates: alerts, but no new incident
        assert client.post("/api/v1/alerts/alertmanager", json=firing,
                           headers=bearer(svc.keys["alertmanager"])).status_code == 202
    assert client.post("/api/v1/alerts", json={"summary": "disk full on db-1", "severity": "critical"},
                       headers=bearer(svc.keys["generic"])).status_code == 202
    bad = client.post("/api/v1/alerts", json={"severity": "critical"}, headers=bearer(svc.keys["generic"]))
    assert bad.status_code in (400, 422)  # refused: not counted
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("vigil_alerts_received_total", integration_type="alertmanager") == 4
    assert delta("vigil_alerts_received_total", integration_type="generic") == 1
    assert delta("vigil_alerts_received_total", integration_type="grafana") == 0
    session.commit()
    classes = [i.severity_class for i in session.scalars(select(Incident))]
    assert len(classes) == 3
    for severity_class in set(classes):
        assert delta("vigil_incidents_opened_total", severity_class=str(severity_class)) == \
            classes.count(severity_class)


def test_pages_sent_and_failed_per_channel_and_the_outbox_depth(app, client, session, make, clock, monkeypatch):
    svc = make.service()
    client.post("/api/v1/alerts", json={"summary": "checkout down"}, headers=bearer(svc.keys["generic"]))
    incident = session.scalars(select(Incident)).one()
    sms = FakeSms()
    monkeypatch.setitem(app.extensions, "vigil.providers",
                        Providers(sms=sms, chat=None, public_url="http://vigil.test"))  # no Slack configured
    pages = [_page(session, incident, "sms", "+15005550001"), _page(session, incident, "sms", "+15005550002"),
             _page(session, incident, "slack", "C0OPS")]
    before = scrape(client)
    assert value(before, "vigil_outbox_depth", status="pending") == 3

    deliver = app.extensions["celery"].tasks["pages.deliver"]
    assert deliver(pages[0]) == "sent"
    sms.fail_next(PermanentError("the number is not reachable"))
    assert deliver(pages[1]) == "failed"
    assert deliver(pages[2]) == "failed"  # Slack is not configured
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("vigil_pages_sent_total", channel="sms") == 1
    assert delta("vigil_pages_failed_total", channel="sms") == 1
    assert delta("vigil_pages_failed_total", channel="slack") == 1
    assert delta("vigil_pages_sent_total", channel="slack") == 0
    assert value(after, "vigil_outbox_depth", status="pending") == 0


def test_escalation_lag_is_how_late_the_oldest_due_escalation_is(client, session, make, clock):
    assert value(scrape(client), "vigil_escalation_lag_seconds") == 0
    svc = make.service()
    client.post("/api/v1/alerts", json={"summary": "checkout down"}, headers=bearer(svc.keys["generic"]))
    incident = session.scalars(select(Incident)).one()
    policy = EscalationPolicy(name="metrics-test", steps=[])
    session.add(policy)
    session.flush()
    session.merge(Escalation(incident_id=incident.id, policy_id=policy.id, next_at=clock.at + timedelta(minutes=5),
                             state="active", updated_at=clock.at))
    session.commit()
    assert value(scrape(client), "vigil_escalation_lag_seconds") == 0  # due in the future: on time
    clock.advance(minutes=6, seconds=30)  # the engine has not run since: 90 s late
    assert value(scrape(client), "vigil_escalation_lag_seconds") == 90


def test_request_latency_is_observed_per_route_method_and_status(client):
    before = scrape(client)
    client.get("/healthz")
    client.get("/api/v1/incidents/12345")  # 401 without a key
    after = scrape(client)
    count = "vigil_http_request_duration_seconds_count"
    assert value(after, count, endpoint="/healthz", method="GET", status="200") == \
        value(before, count, endpoint="/healthz", method="GET", status="200") + 1
    route = "/api/v1/incidents/<incident_id>"
    assert value(after, count, endpoint=route, method="GET", status="401") == \
        value(before, count, endpoint=route, method="GET", status="401") + 1


def test_metrics_answer_loopback_only_without_a_token(client):
    assert client.get("/metrics").status_code == 200
    far = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 403 and "METRICS_TOKEN" in far.json["error"]["message"]
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})  # a proxy on this machine
    assert proxied.status_code == 403
    assert "/metrics" not in client.get("/api/openapi.json").json["paths"]


def test_with_a_token_metrics_answer_whoever_sends_it_and_nobody_else(test_config):
    app = create_app(dataclasses.replace(test_config, metrics_token=TOKEN))
    try:
        client = app.test_client()
        far = {"REMOTE_ADDR": "203.0.113.9"}
        assert client.get("/metrics", environ_base=far).status_code == 401
        assert client.get("/metrics").status_code == 401  # the token is asked of loopback too
        assert client.get("/metrics", headers=bearer("scrape-token-wrong-guess"), environ_base=far).status_code == 401
        assert ("vigil_escalation_lag_seconds", ()) in scrape(client, headers=bearer(TOKEN), environ_base=far)
    finally:
        app.extensions["vigil.db"].engine.dispose()


COUNT_IN_A_PROCESS = "from incidents.services import metrics; metrics.count_alerts('grafana', {n})"
RENDER = "from incidents.services import metrics; import sys; sys.stdout.write(metrics.render_counters().decode())"


def test_counts_add_up_over_processes_with_a_multiprocess_dir(tmp_path):
    """Several gunicorn workers and a Celery worker: each counts in its own file, a scrape adds up."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", COUNT_IN_A_PROCESS.format(n=n)], env=env, check=True, timeout=60)
    out = subprocess.run([sys.executable, "-c", RENDER], env=env, check=True, timeout=60,
                         capture_output=True, text=True).stdout
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(out) for s in family.samples}
    assert value(samples, "vigil_alerts_received_total", integration_type="grafana") == 5


def _page(session, incident, channel: str, address: str) -> int:
    page = Page(incident_id=incident.id, step=0, cycle=0, recipient=f"{channel}:{address}", channel=channel,
                address=address, status="pending", attempts=0, next_attempt_at=incident.opened_at,
                created_at=incident.opened_at)
    session.add(page)
    session.commit()
    return page.id


@pytest.fixture(autouse=True)
def _no_stray_multiproc_dir():
    """These tests count in this process: a PROMETHEUS_MULTIPROC_DIR from the shell would hide it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        pytest.skip("PROMETHEUS_MULTIPROC_DIR is set for the test run")
    yield


def test_vigil_up_scrape_adds_up_the_web_and_the_worker(vigil_up):
    """`vigil up`: the web counts the alert, the separate worker process counts its pages, and one
    scrape of the web shows both."""
    proc, base, log, _env = vigil_up
    wait_for(lambda: _get(f"{base}/readyz") == 200, 90, "/readyz")
    url, key = re.search(r"curl -sS -X POST (\S+) -H 'Authorization: Bearer (\w+)'", log.read_text()).groups()
    assert requests.post(url, json={"summary": "Checkout is down", "severity": "critical"},
                         headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 202

    def paged():  # the sample's policy pages by SMS and Slack, which are not configured: failed pages
        text = requests.get(f"{base}/metrics", timeout=10).text
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for family in text_string_to_metric_families(text) for s in family.samples}
        outcomes = sum(v for (name, _), v in samples.items() if name.startswith("vigil_pages_"))
        return samples if outcomes > 0 else None

    samples = wait_for(paged, 60, "the worker's page outcomes on the web's /metrics")
    assert value(samples, "vigil_metrics_multiprocess") == 1
    assert value(samples, "vigil_alerts_received_total", integration_type="generic") == 1
    assert sum(v for (name, _), v in samples.items() if name == "vigil_incidents_opened_total") == 1


def _get(url: str) -> int | None:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return None
