"""The breach playbook API: admin keys only, a run started from a breach incident or as a drill,
its steps and notices as the OpenAPI document describes them, retry and skip of a failed step."""
from __future__ import annotations

import io

import jsonschema
import pypdf
import pytest
from sqlalchemy import select

from incidents.models import PlaybookRun, RevealedSecret
from incidents.services import api_keys
from tests.helpers import bearer
from tests.playbook.conftest import drive, report

RUNS = "/api/v1/playbook-runs"
ROTATE = [{"type": "vigil_api_keys"}, {"type": "user_sessions"}]


@pytest.fixture
def admin(make):
    return bearer(make.api_key("admin", name="lee"))


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").json


def valid(spec, name: str, body: dict) -> dict:
    document = {**spec, "$ref": f"#/components/schemas/{name}"}
    jsonschema.Draft202012Validator(document, format_checker=jsonschema.FormatChecker()).validate(body)
    return body


def start(client, headers, incident_id, **body):
    return client.post(f"/api/v1/incidents/{incident_id}/breach-playbook", json=body, headers=headers)


def no_runs(session) -> bool:
    session.rollback()
    return session.scalars(select(PlaybookRun)).first() is None


def test_an_admin_starts_a_run_and_follows_it(client, admin, configure, breach, spec):
    configure(rotate=ROTATE)

    response = start(client, admin, breach, summary="An attacker read the contacts table")

    assert response.status_code == 202, response.json
    run = valid(spec, "RunOut", response.json)
    assert (run["mode"], run["state"], run["incident_id"], run["started_by"]) == ("live", "running", breach,
                                                                                 "api key lee-admin")
    assert [(s["position"], s["kind"], s["state"], s["attempts"]) for s in run["steps"]] == [
        (1, "notify_customers", "pending", 0), (2, "vigil_api_keys", "pending", 0), (3, "user_sessions", "pending", 0)]
    assert run["notices"] == {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "uncertain": 0}
    assert (run["keys_waiting"], run["report"]) == ([], None)
    shown = client.get(f"{RUNS}/{run['id']}", headers=admin)
    assert shown.status_code == 200 and valid(spec, "RunOut", shown.json) == run
    listed = client.get(RUNS, headers=admin).json
    assert [(r["id"], r["state"]) for r in valid(spec, "RunList", listed)["items"]] == [(run["id"], "running")]


def test_without_a_body_the_run_starts_live(client, admin, configure, breach):
    configure(rotate=ROTATE)

    response = client.post(f"/api/v1/incidents/{breach}/breach-playbook", headers=admin)

    assert response.status_code == 202, response.json
    assert response.json["mode"] == "live"


def test_keys_below_admin_are_refused_and_nothing_is_stored(client, make, configure, breach, session):
    configure(rotate=ROTATE)
    for key in (make.api_key("write"), make.api_key("read")):
        response = start(client, bearer(key), breach)
        assert response.status_code == 403, response.json
        assert client.get(RUNS, headers=bearer(key)).status_code == 403
    _, customer_key = api_keys.create(session, name="acme-reader", scope="read", customer="acme")
    session.commit()
    assert start(client, bearer(customer_key), breach).status_code == 403
    assert start(client, {}, breach).status_code == 401
    assert no_runs(session)


def test_bad_starts_are_refused_with_reasons(client, admin, configure, breach, session):
    assert start(client, admin, breach).json["error"]["message"].startswith("no breach playbook is configured")
    configure(rotate=ROTATE)
    outage = report(session, "Checkout outage in eu-west")

    refused = start(client, admin, outage)
    assert refused.status_code == 422
    assert refused.json["error"]["message"].startswith(f"incident {outage} is not a security breach")
    assert start(client, admin, 999).status_code == 404
    assert start(client, admin, breach, mode="practice").status_code == 422
    assert start(client, admin, breach, summary="x" * 1001).status_code == 422
    assert no_runs(session)
    assert start(client, admin, breach).status_code == 202
    twice = start(client, admin, breach)
    assert twice.status_code == 409 and "already under way" in twice.json["error"]["message"]


def test_a_drill_starts_without_an_incident(client, admin, configure, spec):
    configure()

    response = client.post("/api/v1/playbook-drills", json={}, headers=admin)

    assert response.status_code == 202, response.json
    run = valid(spec, "RunOut", response.json)
    assert (run["mode"], run["incident_id"]) == ("drill", None)
    assert [s["state"] for s in run["steps"]][-1] == "skipped"
    assert run["steps"][-1]["skip_reason"] == "no drill target configured"


def test_a_failed_step_is_skipped_with_a_reason_or_retried(client, admin, configure, breach, session, fake_steps,
                                                          spec):
    configure(rotate=ROTATE)
    fake_steps.fail["vigil_api_keys"] = ("apply", "the keys table is locked")
    run_id = start(client, admin, breach).json["id"]
    drive(session, run_id)

    failed = client.get(f"{RUNS}/{run_id}", headers=admin).json
    assert (failed["state"], failed["error"]) == ("failed", "step 2 (Revoke and regenerate Vigil API keys) failed: "
                                                            "the keys table is locked")
    assert client.post(f"{RUNS}/{run_id}/steps/3/retry", headers=admin).status_code == 409
    assert client.post(f"{RUNS}/{run_id}/steps/9/retry", headers=admin).status_code == 404
    assert client.post(f"{RUNS}/{run_id}/steps/2/skip", json={}, headers=admin).status_code == 422
    assert client.post(f"{RUNS}/{run_id}/steps/2/skip", json={"reason": ""}, headers=admin).status_code == 422

    retried = client.post(f"{RUNS}/{run_id}/steps/2/retry", headers=admin)
    assert retried.status_code == 202 and retried.json["state"] == "running"
    drive(session, run_id)  # fails again
    skipped = client.post(f"{RUNS}/{run_id}/steps/2/skip", json={"reason": "keys rotated by hand"}, headers=admin)
    assert skipped.status_code == 202, skipped.json
    step = valid(spec, "RunOut", skipped.json)["steps"][1]
    assert (step["state"], step["skip_reason"], step["actor"], step["attempts"]) == (
        "skipped", "keys rotated by hand", "api key lee-admin", 2)
    drive(session, run_id)

    done = valid(spec, "RunOut", client.get(f"{RUNS}/{run_id}", headers=admin).json)
    assert done["state"] == "done" and done["report"]["failures"] == 2
    assert [row["state"] for row in done["report"]["steps"]] == ["done", "skipped", "done"]


def test_new_keys_waiting_are_listed_by_label_only(client, admin, configure, breach, session, clock):
    configure(rotate=ROTATE)
    run_id = start(client, admin, breach).json["id"]
    step_id = session.get(PlaybookRun, run_id).steps[1].id
    session.add_all([RevealedSecret(run_id=run_id, step_id=step_id, label="API key 'grafana-reader' (read)",
                                    ciphertext="gAAAA-sealed", created_at=clock.at),
                     RevealedSecret(run_id=run_id, step_id=step_id, label="API key 'ci' (write)", ciphertext=None,
                                    created_at=clock.at, revealed_at=clock.at, revealed_by="lee@ops.example")])
    session.commit()

    response = client.get(f"{RUNS}/{run_id}", headers=admin)

    assert response.json["keys_waiting"] == ["API key 'grafana-reader' (read)"]
    assert "gAAAA" not in response.get_data(as_text=True)


def test_unknown_runs_are_404(client, admin):
    assert client.get(f"{RUNS}/42", headers=admin).json["error"]["message"] == "playbook run 42 does not exist"


def test_the_run_report_as_a_pdf(client, admin, make, configure, breach):
    configure(rotate=[{"type": "user_sessions"}])
    run_id = start(client, admin, breach, summary="An attacker read the contacts table").json["id"]

    response = client.get(f"{RUNS}/{run_id}/report.pdf", headers=admin)

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.data)).pages)
    words = " ".join(text.split())  # table cells wrap their text over lines
    assert "Breach playbook run #" in words and "Unauthorized access to the customer database" in words
    assert "Notify customers" in words and "End sessions and require password resets" in words
    reader = bearer(make.api_key("write", name="ci"))
    assert client.get(f"{RUNS}/{run_id}/report.pdf", headers=reader).status_code == 403
    assert client.get(f"{RUNS}/999/report.pdf", headers=admin).status_code == 404
