"""The report endpoints in the OpenAPI document: the JSON report's schema and the CSV response,
and real responses that validate against what the document says."""
import jsonschema
import pytest

from incidents.models import Incident
from incidents.services.reports import sla_report
from incidents.web.reports_format import report_json
from incidents.web.reports_schemas import SlaReportOut
from tests.helpers import bearer
from tests.report_world import build
from tests.test_report_pauses import pause

REPORTS = "/api/v1/reports/sla"


@pytest.fixture
def world(make, clock, session):
    """The report world, the late class 1 incident paused for 20 minutes when it opened."""
    world = build(make)
    pause(session, world.late_id, session.get(Incident, world.late_id).opened_at, 20)
    session.commit()
    return world


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").json


def validator(spec, name: str):
    """A JSON Schema validator for one component, resolving $refs within the document."""
    document = {**spec, "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(document, format_checker=jsonschema.FormatChecker())


def test_the_document_describes_the_json_report_and_the_csv(spec):
    get = spec["paths"][REPORTS]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SlaReportOut"}
    assert set(get["responses"]) >= {"200", "401", "403", "404", "422"}
    report = spec["components"]["schemas"]["SlaReportOut"]
    assert set(report["required"]) == {"month", "customers", "total"}
    figures = spec["components"]["schemas"]["ClassFiguresOut"]["properties"]
    assert {"paused_incidents", "pauses", "paused_seconds", "share_met", "mtta_p90"} <= set(figures)
    assert figures["share_met"]["type"] == ["number", "null"]
    breach = spec["components"]["schemas"]["BreachOut"]["properties"]
    assert breach["deadline"] == {"description": "the response deadline", "format": "date-time", "type": "string"}
    csv_doc = spec["paths"][REPORTS + ".csv"]["get"]["responses"]["200"]
    assert list(csv_doc["content"]) == ["text/csv"] and "record,customer,severity_class" in csv_doc["description"]


@pytest.mark.parametrize("query", ["customer=acme&month=2026-10", "month=2026-10", "customer=acme&month=2026-11"])
def test_real_reports_validate_against_the_document(client, make, world, spec, query):
    answer = client.get(f"{REPORTS}?{query}", headers=bearer(make.api_key("read")))
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    validator(spec, "SlaReportOut").validate(answer.json)
    assert SlaReportOut().load(answer.json) == answer.json  # the schema class takes it back unchanged


def test_the_schema_keeps_every_field_of_the_report(client, make, world, session):
    """Dumping through the output schema drops nothing: the body is report_json's, field for field."""
    answer = client.get(f"{REPORTS}?customer=acme&month=2026-10", headers=bearer(make.api_key("read")))
    assert answer.json == report_json(sla_report(session, customer_slug="acme", month=world.october))
    acme = answer.json["customers"][0]
    assert acme["breaches"][0]["paused_seconds"] == 1200.0 and acme["classes"][0]["paused_incidents"] == 1


def test_a_wrong_body_fails_validation(spec):
    """The check has teeth: a missing field or a string where a number belongs is caught."""
    check = validator(spec, "ClassFiguresOut")
    good = {"severity_class": 1, "opened": 1, "met": 1, "breached": 0, "pending": 0, "share_met": 100.0,
            "mtta_mean": 1.0, "mtta_p90": 1.0, "mttr_mean": None, "mttr_p90": None,
            "paused_incidents": 0, "pauses": 0, "paused_seconds": 0.0}
    check.validate(good)
    with pytest.raises(jsonschema.ValidationError):
        check.validate({**good, "opened": "1"})
    with pytest.raises(jsonschema.ValidationError):
        check.validate({k: v for k, v in good.items() if k != "pauses"})

