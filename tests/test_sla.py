"""Response deadlines per class, tailored per customer (pure)."""
from datetime import datetime, timedelta, timezone

import pytest

from incidents.domain.durations import format_duration, parse_duration
from incidents.domain.sla import response_due_at

OPENED = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("severity_class, due", [
    (1, OPENED + timedelta(minutes=120)),
    (2, OPENED + timedelta(hours=6)),
    (3, OPENED + timedelta(hours=48)),
])
def test_published_sla(severity_class, due):
    assert response_due_at(OPENED, severity_class) == due


def test_customer_overrides_only_the_classes_it_names():
    customer = {1: timedelta(minutes=60)}
    defaults = {2: timedelta(hours=4)}
    assert response_due_at(OPENED, 1, customer=customer, defaults=defaults) == OPENED + timedelta(minutes=60)
    assert response_due_at(OPENED, 2, customer=customer, defaults=defaults) == OPENED + timedelta(hours=4)
    assert response_due_at(OPENED, 3, customer=customer, defaults=defaults) == OPENED + timedelta(hours=48)


def test_unknown_class_is_an_error():
    with pytest.raises(ValueError):
        response_due_at(OPENED, 4)


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("6h", 21600), ("2d", 172800)])
def test_durations_round_trip(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize("text", ["", "15", "m", "1w", "-5m", "0m", "1.5h"])
def test_bad_durations_name_the_accepted_forms(text):
    with pytest.raises(ValueError, match="expected a number and a unit|longer than zero"):
        parse_duration(text)
