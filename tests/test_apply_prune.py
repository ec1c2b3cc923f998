"""What `vigil apply` removes: nothing without --prune; with it, what the file leaves out.
Classification is one ordered document, replaced whole when it differs."""
from __future__ import annotations

from sqlalchemy import select

from incidents import clock
from incidents.models import ClassificationRule, Customer, Incident, Integration, Service, User
from incidents.services.keys import hash_key
from tests.test_apply import rows, summary, vigil, write  # noqa: F401  (fixtures)

FULL = """
    customers:
      - {slug: acme, name: Acme Retail}
      - {slug: globex, name: Globex}
    users:
      - {email: ana@ops.example, name: Ana Silva, role: ops_engineer}
      - {email: ben@ops.example, name: Ben Okafor, role: ops_engineer}
    services:
      - name: checkout
        customer: acme
        integrations:
          - {name: prometheus, type: alertmanager}
          - {name: scripts, type: generic}
      - {name: messaging, customer: globex}
"""
SMALLER = """
    customers:
      - {slug: acme, name: Acme Retail}
    users:
      - {email: ana@ops.example, name: Ana Silva, role: ops_engineer}
    services:
      - name: checkout
        customer: acme
        integrations:
          - {name: prometheus, type: alertmanager}
"""


def add_incident(session, *, service_name: str) -> None:
    """An incident on the service (and its customer), as intake or a report would leave it."""
    service = session.scalars(select(Service).where(Service.name == service_name)).one()
    now = clock.now()
    session.add(Incident(title="Checkout is down", status="triggered", severity_class=1, category="outage",
                         classification_rule="outage", classification_reason="test", origin="report",
                         service_id=service.id, customer_id=service.customer_id, opened_at=now,
                         response_due_at=now, updated_at=now))
    session.commit()


def test_without_prune_nothing_is_removed(vigil, write, session):
    vigil(write(FULL))

    result = vigil(write(SMALLER))

    assert result.exit_code == 0, result.output
    assert summary(result) == {"customers": "1 unchanged", "users": "1 unchanged", "services": "1 unchanged",
                               "integrations": "1 unchanged"}
    assert "Nothing changed." in result.stdout
    assert [c.slug for c in rows(session, Customer)] == ["acme", "globex"]
    assert [(u.email, u.active) for u in rows(session, User)] == [("ana@ops.example", True),
                                                                  ("ben@ops.example", True)]
    assert [(i.name, i.revoked_at) for i in rows(session, Integration)] == [("prometheus", None),
                                                                            ("scripts", None)]
    assert [s.name for s in rows(session, Service)] == ["checkout", "messaging"]


def test_prune_revokes_deactivates_and_deletes_what_the_file_leaves_out(vigil, write, session):
    vigil(write(FULL))

    result = vigil("--prune", write(SMALLER))

    assert result.exit_code == 0, result.output
    assert summary(result) == {"customers": "1 unchanged, 1 deleted", "users": "1 unchanged, 1 deactivated",
                               "services": "1 unchanged, 1 deleted", "integrations": "1 unchanged, 1 revoked"}
    assert [c.slug for c in rows(session, Customer)] == ["acme"]
    assert [(u.email, u.active) for u in rows(session, User)] == [("ana@ops.example", True),
                                                                  ("ben@ops.example", False)]
    assert [(i.name, i.revoked_at is not None) for i in rows(session, Integration)] == [
        ("prometheus", False), ("scripts", True)]
    assert [s.name for s in rows(session, Service)] == ["checkout"]

    again = vigil("--prune", write(SMALLER))
    assert "Nothing changed." in again.stdout


def test_prune_refuses_to_delete_a_service_with_incidents_and_changes_nothing(vigil, write, session):
    vigil(write(FULL))
    add_incident(session, service_name="messaging")

    result = vigil("--prune", write(SMALLER))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        "error: services: cannot delete 'messaging' (not in the file): 1 incident and 0 alerts refer to it; "
        "keep it in the file",
        "error: customers: cannot delete 'globex' (not in the file): 1 incident refer to it; keep it in the file",
    ]
    assert [(u.email, u.active) for u in rows(session, User)] == [("ana@ops.example", True),
                                                                  ("ben@ops.example", True)]
    assert all(i.revoked_at is None for i in rows(session, Integration))


def test_prune_refuses_to_delete_a_customer_whose_services_stay(vigil, write, session):
    vigil(write(FULL))

    result = vigil("--prune", write("customers: [{slug: acme, name: Acme Retail}]"))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "error: customers: cannot delete 'globex' (not in the file): services messaging still belong to it")
    assert len(rows(session, Customer)) == 2


def test_prune_lets_a_service_move_to_a_customer_in_the_file(vigil, write, session):
    vigil(write(FULL))

    result = vigil("--prune", write("""
        customers:
          - {slug: acme, name: Acme Retail}
        services:
          - {name: messaging, customer: acme}
          - name: checkout
            customer: acme
            integrations:
              - {name: prometheus, type: alertmanager}
              - {name: scripts, type: generic}
    """))

    assert result.exit_code == 0, result.output
    assert summary(result)["customers"] == "1 unchanged, 1 deleted"
    assert {s.name: s.customer.slug for s in rows(session, Service)} == {"checkout": "acme", "messaging": "acme"}


def test_a_revoked_integration_listed_again_gets_a_new_key(vigil, write, session):
    vigil(write(FULL))
    vigil("--prune", write(SMALLER))
    old_hash = session.scalars(select(Integration.key_hash).where(Integration.name == "scripts")).one()
    session.commit()

    result = vigil(write(FULL))

    assert summary(result)["integrations"] == "1 updated, 1 unchanged"
    key = result.stdout.split("checkout/scripts (generic)")[1].split("key: ")[1].split()[0]
    scripts = {i.name: i for i in rows(session, Integration)}["scripts"]
    assert scripts.revoked_at is None
    assert scripts.key_hash == hash_key(key) != old_hash


def test_a_deactivated_user_in_the_file_is_active_again(vigil, write, session):
    vigil(write(FULL))
    vigil("--prune", write(SMALLER))

    result = vigil(write(FULL))

    assert summary(result)["users"] == "1 updated, 1 unchanged"
    assert all(u.active for u in rows(session, User))


RULES = """
    classification:
      - {name: outage, class: 1, category: outage, match: {text_any: [down]}}
      - {name: slow, class: 2, category: performance, match: {text_any: [slow]}}
      - {name: everything else, class: 3, category: defect, match: {}}
"""
REORDERED = """
    classification:
      - {name: slow, class: 2, category: performance, match: {text_any: [slow]}}
      - {name: everything else, class: 3, category: defect, match: {}}
"""


def stored_rules(session) -> list[tuple]:
    return [(r.position, r.name, r.severity_class, r.match)
            for r in rows(session, ClassificationRule, ClassificationRule.position)]


def test_classification_is_replaced_whole_when_it_differs(vigil, write, session):
    vigil(write(RULES))

    result = vigil(write(REORDERED))

    assert result.exit_code == 0, result.output
    assert summary(result) == {"classification": "2 updated, 1 deleted"}
    assert stored_rules(session) == [(0, "slow", 2, {"text_any": ["slow"]}),
                                     (1, "everything else", 3, {})]


def test_classification_left_alone_when_equal(vigil, write, session):
    vigil(write(RULES))
    ids = [r.id for r in rows(session, ClassificationRule)]

    result = vigil(write(RULES))

    assert summary(result) == {"classification": "3 unchanged"}
    assert [r.id for r in rows(session, ClassificationRule)] == ids


def test_a_changed_rule_match_replaces_the_rules(vigil, write, session):
    vigil(write(RULES))

    result = vigil(write(RULES.replace("text_any: [slow]", "text_any: [slow, latency]")))

    assert summary(result) == {"classification": "1 updated, 2 unchanged"}
    assert stored_rules(session)[1] == (1, "slow", 2, {"text_any": ["slow", "latency"]})
