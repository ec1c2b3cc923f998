"""`vigil apply` errors: each names its path in the file, all are shown, and nothing is stored."""
from __future__ import annotations

import copy
import json

import pytest
import yaml

from incidents.models import ClassificationRule, Customer, Integration, Service, Setting, User
from tests.test_apply import vigil, write  # noqa: F401  (fixtures)

VALID = {
    "timezone": "Europe/London",
    "sla": {1: "120m", 2: "6h", 3: "2d"},
    "customers": [{"slug": "acme", "name": "Acme Retail", "sla": {1: "60m"}},
                  {"slug": "globex", "name": "Globex"}],
    "users": [{"email": "ana@ops.example", "name": "Ana Silva", "role": "ops_engineer"}],
    "classification": [{"name": "outage", "class": 1, "category": "outage", "match": {"text_any": ["down"]}},
                       {"name": "everything else", "class": 3, "category": "defect", "match": {}}],
    "services": [{"name": "checkout", "customer": "acme",
                  "integrations": [{"name": "prometheus", "type": "alertmanager"}]},
                 {"name": "messaging", "customer": "globex"}],
}


def errors(result) -> list[str]:
    """The error lines of stderr (the closing summary line left out)."""
    return [line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")]


def assert_nothing_stored(session) -> None:
    for model in (Setting, Customer, User, ClassificationRule, Service, Integration):
        assert session.query(model).count() == 0, model.__name__
    session.commit()


def broken(change) -> str:
    """The valid document with one change, as YAML."""
    document = copy.deepcopy(VALID)
    change(document)
    return yaml.safe_dump(document, sort_keys=False)


CASES = [
    ("unknown customer", lambda d: d["services"][1].update(customer="acmee"),
     "services[1].customer: unknown customer 'acmee'"),
    ("bad duration", lambda d: d["sla"].update({2: "6 hours"}),
     "sla.2: invalid duration '6 hours': expected a number and a unit s, m, h or d, like '90s', '15m', '6h', '2d'"),
    ("seconds", lambda d: d["customers"][0]["sla"].update({1: "90s"}),
     "customers[0].sla.1: invalid duration '90s': must be whole minutes"),
    ("sla class", lambda d: d["sla"].update({4: "1h"}), "sla.4: invalid severity class 4; expected 1, 2 or 3"),
    ("rule class", lambda d: d["classification"][1].update({"class": 5}),
     "classification[1].class: invalid severity class 5; expected 1, 2 or 3"),
    ("match key", lambda d: d["classification"][0].update(match={"any": [{"text": ["down"]}]}),
     "classification[0].match.any[0].text: unknown match key; expected one of text_any, severity, category, "
     "source, labels, any, all, not"),
    ("typo", lambda d: d["services"][0].update(auto_reslove=True),
     "services[0].auto_reslove: unknown key; did you mean 'auto_resolve'?"),
    ("section typo", lambda d: d.update(servics=[]), "servics: unknown key; did you mean 'services'?"),
    ("role", lambda d: d["users"][0].update(role="superuser"),
     "users[0].role: invalid 'superuser'; expected one of admin, ops_engineer, responder, viewer"),
    ("timezone", lambda d: d.update(timezone="Europe/Lundon"),
     "timezone: unknown time zone 'Europe/Lundon'; expected an IANA name like 'Europe/London'"),
    ("user timezone", lambda d: d["users"][0].update(timezone="Mars/Olympus"),
     "users[0].timezone: unknown time zone 'Mars/Olympus'; expected an IANA name like 'Europe/London'"),
    ("phone", lambda d: d["users"][0].update(phone="555-1234"),
     "users[0].phone: invalid '555-1234'; expected an E.164 number like \"+15005550006\""),
    ("email", lambda d: d["users"][0].update(email="ana at ops"),
     "users[0].email: invalid 'ana at ops'; expected an e-mail address"),
    ("uptime", lambda d: d["customers"][0].update(uptime_target=0),
     "customers[0].uptime_target: expected a percentage above 0 and at most 100, got 0"),
    ("contact", lambda d: d["customers"][1].update(contacts=[{"name": "Sam"}]),
     "customers[1].contacts[0]: give an email or a phone (or both)"),
    ("slug", lambda d: d["customers"].append({"slug": "Initech Corp", "name": "Initech"}),
     "customers[2].slug: invalid 'Initech Corp'; use lower-case letters, digits, '-' and '_'"),
    ("integration type", lambda d: d["services"][0]["integrations"][0].update(type="prometheus"),
     "services[0].integrations[0].type: invalid 'prometheus'; expected one of alertmanager, pagerduty, "
     "grafana, generic"),
    ("boolean", lambda d: d["services"][0].update(auto_resolve="yes please"),
     "services[0].auto_resolve: expected true or false, got text"),
    ("required", lambda d: d["services"][1].pop("customer"), "services[1].customer: required"),
    ("not a list", lambda d: d.update(users={"ana": "ops_engineer"}), "users: expected a list, got a mapping"),
    ("duplicate customer", lambda d: d["customers"].append({"slug": "acme", "name": "Acme again"}),
     "customers[2].slug: duplicate customer 'acme' (first at customers[0].slug)"),
    ("duplicate user", lambda d: d["users"].append({**d["users"][0], "email": "ANA@ops.example"}),
     "users[1].email: duplicate user 'ana@ops.example' (first at users[0].email)"),
    ("duplicate service", lambda d: d["services"][1].update(name="checkout"),
     "services[1].name: duplicate service 'checkout' (first at services[0].name)"),
    ("duplicate integration", lambda d: d["services"][0]["integrations"].append({"name": "prometheus",
                                                                                  "type": "generic"}),
     "services[0].integrations[1].name: duplicate integration 'prometheus' (first at services[0].integrations[0].name)"),
    ("duplicate rule", lambda d: d["classification"][1].update(name="outage"),
     "classification[1].name: duplicate rule 'outage' (first at classification[0].name)"),
]


def test_the_valid_document_applies(vigil, write):
    assert vigil(write(broken(lambda d: None))).exit_code == 0


@pytest.mark.parametrize("change, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_error_names_its_path_and_nothing_is_stored(vigil, write, session, change, expected):
    path = write(broken(change))

    result = vigil(path)

    assert result.exit_code == 1
    assert errors(result) == [expected]
    assert result.stderr.splitlines()[-1] == f"vigil apply: 1 error in {path}; nothing was changed"
    assert result.stdout == ""
    assert_nothing_stored(session)


def test_every_error_is_reported_at_once(vigil, write, session):
    result = vigil(write("""
        timezone: Europe/Lundon
        sla: {1: 2x}
        users:
          - {email: ben@ops.example, name: Ben, role: god, phone: +15005550002}
        services:
          - {name: checkout, customer: acmee, auto_reslove: true}
    """))

    assert result.exit_code == 1
    assert errors(result) == [
        "timezone: unknown time zone 'Europe/Lundon'; expected an IANA name like 'Europe/London'",
        "sla.1: invalid duration '2x': expected a number and a unit s, m, h or d, like '90s', '15m', '6h', '2d'",
        "users[0].role: invalid 'god'; expected one of admin, ops_engineer, responder, viewer",
        'users[0].phone: expected an E.164 number in quotes, like "+15005550002"',
        "services[0].auto_reslove: unknown key; did you mean 'auto_resolve'?",
        "services[0].customer: unknown customer 'acmee'",
    ]
    assert result.stderr.splitlines()[-1].endswith("6 errors in " + result.stderr.split(" in ")[-1].strip())
    assert_nothing_stored(session)


def test_a_yaml_syntax_error_is_one_line_with_line_and_column(vigil, write, session):
    path = write("customers:\n  - slug: acme\n    name: Acme\n   contacts: []\n")

    result = vigil(path)

    assert result.exit_code == 1
    assert errors(result) == [f"{path}:4:4: YAML syntax error: expected <block end>, but found '<block mapping start>'"
                              " (while parsing a block collection)"]
    assert_nothing_stored(session)


def test_a_key_given_twice_is_an_error_not_silently_the_last(vigil, write, session):
    path = write("timezone: UTC\nsla: {1: 60m}\ntimezone: Europe/London\n")

    result = vigil(path)

    assert result.exit_code == 1
    assert errors(result) == [f"{path}:3:1: duplicate key 'timezone'"]
    assert_nothing_stored(session)


def test_a_missing_file_is_one_clear_line(vigil, tmp_path):
    result = vigil(str(tmp_path / "nope.yaml"))

    assert result.exit_code == 1
    assert errors(result) == [f"{tmp_path / 'nope.yaml'}: cannot read the file: No such file or directory"]


def test_an_empty_file_is_an_error(vigil, write):
    path = write("# nothing yet\n")

    result = vigil(path)

    assert result.exit_code == 1
    assert errors(result) == [f"{path}: the file is empty; expected sections such as timezone, sla, customers"]


def test_errors_as_json_are_one_document_on_stdout(vigil, write, session):
    result = vigil("--output", "json", write(broken(lambda d: d["services"][1].update(customer="acmee"))))

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"errors": ["services[1].customer: unknown customer 'acmee'"]}
    assert_nothing_stored(session)
