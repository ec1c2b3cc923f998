"""Classification rules from the sample configuration, table-tested (pure, no database)."""
import pytest

from incidents.domain.classification import Rule, Subject, classify, validate_match
from tests.factories import SAMPLE_RULES

RULES = [Rule(name, cls, category, match) for name, cls, category, match in SAMPLE_RULES]


@pytest.mark.parametrize("subject, expected_class, expected_category, rule", [
    (Subject("Possible intrusion on db-1"), 1, "security_breach", "security breach"),
    (Subject("Checkout is DOWN"), 1, "outage", "outage"),
    (Subject("SMS: messages not sending to UK numbers"), 1, "outage", "outage"),
    (Subject("Disk usage high", severity="critical"), 1, "outage", "critical from monitoring"),
    (Subject("GDPR request overdue"), 1, "compliance", "compliance"),
    (Subject("Nightly export", description="rows arrive corrupt"), 2, "data", "data integrity"),
    (Subject("Search is slow for some users"), 2, "performance", "performance"),
    (Subject("Queue depth growing", severity="error"), 2, "performance", "performance"),
    (Subject("Button label misaligned"), 3, "defect", "everything else"),
])
def test_first_matching_rule_decides(subject, expected_class, expected_category, rule):
    result = classify(subject, RULES)
    assert (result.severity_class, result.category, result.rule) == (expected_class, expected_category, rule)


@pytest.mark.parametrize("title", ["Download page typo", "Slowdown in reports? no: cosmetic", "countdown widget"])
def test_words_match_whole_words_only(title):
    # "down" must not fire on "download" or "countdown": that would page someone at night.
    assert classify(Subject(title), RULES).severity_class != 1


def test_reason_says_what_matched():
    result = classify(Subject("Checkout outage in eu-west"), RULES)
    assert result.reason == "title mentions 'outage'"
    result = classify(Subject("Disk at 91%", severity="CRITICAL"), RULES)
    assert result.reason == "severity is 'CRITICAL'"


def test_reporter_category_picks_the_rule_for_that_category():
    result = classify(Subject("Something odd with logins", category="security_breach"), RULES)
    assert (result.severity_class, result.rule) == (1, "security breach")
    assert "given by the reporter" in result.reason


def test_labels_all_and_not_matchers():
    rules = [
        Rule("prod payments", 1, "outage", {"all": [{"labels": {"env": "prod"}},
                                                     {"labels": {"team": ["payments", "billing"]}}]}),
        Rule("not prod", 3, "defect", {"not": {"labels": {"env": "prod"}}}),
        Rule("rest", 2, "performance", {}),
    ]
    assert classify(Subject("x", labels={"env": "prod", "team": "billing"}), rules).rule == "prod payments"
    assert classify(Subject("x", labels={"env": "staging"}), rules).rule == "not prod"
    assert classify(Subject("x", labels={"env": "prod", "team": "web"}), rules).rule == "rest"


def test_no_rules_falls_back_to_class_3():
    result = classify(Subject("anything"), [])
    assert (result.severity_class, result.category) == (3, "defect")


@pytest.mark.parametrize("match, error", [
    ({"text": ["x"]}, "rules[0].match.text: unknown match key"),
    ({"severity": "critical"}, "rules[0].match.severity: expected a non-empty list of strings"),
    ({"any": []}, "rules[0].match.any: expected a non-empty list of matches"),
    ({"any": [{"labels": []}]}, "rules[0].match.any[0].labels: expected a mapping"),
    ("outage", "rules[0].match: expected a mapping"),
])
def test_invalid_matches_are_reported_with_their_path(match, error):
    errors = validate_match(match, "rules[0].match")
    assert errors and errors[0].startswith(error)


def test_valid_sample_matches_have_no_errors():
    assert all(validate_match(match, "m") == [] for *_, match in SAMPLE_RULES)
