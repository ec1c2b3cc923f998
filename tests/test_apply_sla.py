"""`vigil apply` for how SLA clocks run: a customer's `sla_clock` per class and the top-level
`sla_warnings`; stored as the sweep and the intake read them, idempotent, bad values refused."""
from __future__ import annotations

import pytest

from incidents.models import Customer, Setting
from tests.test_apply import rows, summary, vigil, write  # noqa: F401  (fixtures)
from tests.test_apply_errors import assert_nothing_stored, errors

HOURS = """
    working_hours: {timezone: Europe/London, days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:30"}
"""
CONFIGURED = HOURS + """
    sla_warnings: [25%, 0.5, 87.5%]
    customers:
      - slug: acme
        name: Acme Retail
        sla: {3: 4h}
        sla_clock: {3: working_hours, 1: 24x7}
      - {slug: globex, name: Globex, sla_clock: {"2": 24/7}}
"""

WITHOUT_CLOCKS = """
    customers:
      - {slug: acme, name: Acme Retail, sla: {3: 4h}}
      - {slug: globex, name: Globex}
"""


def test_sla_clock_and_warnings_are_stored_as_the_sweep_reads_them(vigil, write, session):
    result = vigil(write(CONFIGURED))

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert summary(result)["sla_warnings"] == "1 created"
    assert session.get(Setting, "sla_warnings").value == {"fractions": [0.25, 0.5, 0.875]}
    acme, globex = rows(session, Customer, Customer.slug)
    # Only working-hours classes are stored: a class not named runs 24x7.
    assert (acme.sla_clock, acme.sla_minutes) == ({"3": "working_hours"}, {"3": 240})
    assert globex.sla_clock == {}


def test_applying_twice_changes_nothing(vigil, write):
    path = write(CONFIGURED)
    vigil(path)

    again = vigil(path)

    assert again.exit_code == 0, again.output
    assert summary(again) == {"working_hours": "1 unchanged", "sla_warnings": "1 unchanged",
                              "customers": "2 unchanged"}


def test_leaving_sla_clock_out_makes_every_class_24x7_again(vigil, write, session):
    vigil(write(CONFIGURED))

    result = vigil(write(HOURS + WITHOUT_CLOCKS))

    assert summary(result)["customers"] == "1 updated, 1 unchanged"
    assert [c.sla_clock for c in rows(session, Customer, Customer.slug)] == [{}, {}]
    # A file without sla_warnings leaves the stored shares alone.
    assert session.get(Setting, "sla_warnings").value == {"fractions": [0.25, 0.5, 0.875]}
    session.commit()


def test_an_empty_list_turns_warnings_off(vigil, write, session):
    assert vigil(write("sla_warnings: []\n")).exit_code == 0
    assert session.get(Setting, "sla_warnings").value == {"fractions": []}
    session.commit()


def test_working_hours_clock_without_working_hours_is_a_warning_and_runs_24x7(vigil, write, session):
    result = vigil(write("""
        customers:
          - {slug: acme, name: Acme Retail, sla_clock: {3: working_hours}}
    """))

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: customers[0].sla_clock.3: no working_hours are configured, so this class's clock runs "
        "24x7 until they are"]
    assert rows(session, Customer)[0].sla_clock == {"3": "working_hours"}


def test_working_hours_stored_before_are_enough(vigil, write):
    vigil(write(HOURS))

    result = vigil(write("""
        customers:
          - {slug: acme, name: Acme Retail, sla_clock: {3: working_hours}}
    """))

    assert result.exit_code == 0 and result.stderr == ""


CUSTOMER = "customers:\n  - slug: acme\n    name: Acme Retail\n    sla_clock: "
BAD = [
    ("unknown class", CUSTOMER + "{4: working_hours}",
     ["customers[0].sla_clock.4: invalid severity class 4; expected 1, 2 or 3"]),
    ("unknown clock", CUSTOMER + "{3: business_hours}",
     ["customers[0].sla_clock.3: unknown clock 'business_hours'; expected 24x7 or working_hours"]),
    ("not a mapping", CUSTOMER + "working_hours",
     ["customers[0].sla_clock: expected a mapping of severity class to clock, like {3: working_hours}, "
      "got text"]),
    ("typo", "customers:\n  - {slug: acme, name: Acme, sla_clok: {3: working_hours}}",
     ["customers[0].sla_clok: unknown key; did you mean 'sla_clock'?"]),
    ("not a list", "sla_warnings: 50%",
     ["sla_warnings: expected a list, got text; expected shares of the response time like [50%, 80%]"]),
    ("bare number", "sla_warnings: [50, 80%]",
     ["sla_warnings[0]: write 50% (with the percent sign) or 0.5"]),
    ("100%", "sla_warnings: [50%, 100%]",
     ["sla_warnings[1]: 100% is not above 0% and below 100% of the response time (the deadline itself "
      "is the breach)"]),
    ("zero", "sla_warnings: [0%]",
     ["sla_warnings[0]: 0% is not above 0% and below 100% of the response time (the deadline itself "
      "is the breach)"]),
    ("text", "sla_warnings: [half]",
     ["sla_warnings[0]: invalid share 'half'; expected shares of the response time like [50%, 80%]"]),
    ("decreasing", "sla_warnings: [80%, 50%]",
     ["sla_warnings[1]: 50% does not come after 80%; list the shares in increasing order, each once"]),
    ("twice", "sla_warnings: [50%, 0.5]",
     ["sla_warnings[1]: 50% does not come after 50%; list the shares in increasing order, each once"]),
    ("too many", "sla_warnings: [10%, 20%, 30%, 40%, 50%, 60%]",
     ["sla_warnings: at most 5 warnings, got 6"]),
    ("empty", "sla_warnings:", ["sla_warnings: empty; give a value (use [] for an empty list)"]),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_values_name_their_path_and_nothing_is_stored(vigil, write, session, text, expected):
    result = vigil(write(text + "\n"))

    assert result.exit_code == 1
    assert errors(result) == expected
    assert_nothing_stored(session)
