"""The runner drives the notice and Vigil's own rotators as one run: customers told first, then
every API key, integration key and console session replaced; a drill tells only its recipients
and changes nothing."""
from __future__ import annotations

from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import PlaybookRun, RevealedSecret
from incidents.services.playbook import runner
from tests.console.conftest import sign_in
from tests.fakes.fixtures import fake_twilio  # noqa: F401
from tests.fakes.smtp import smtp_sink  # noqa: F401
from tests.helpers import bearer
from tests.playbook.conftest import drive, start
from tests.playbook.test_notify import customers, extensions, mailed_to, texted_to  # noqa: F401

INTERNAL = {"rotate": [{"type": "vigil_api_keys"}, {"type": "vigil_integration_keys"}, {"type": "user_sessions"}],
            "drill": {"every": "quarter", "recipients": ["lee@ops.example"]}}


def world(app, session, make, customers):
    acme, _ = customers
    make.service("checkout", customer=acme, types=("alertmanager",))
    lee = make.console_user("lee@ops.example", Role.ADMIN)
    return make.api_key("read", "grafana"), sign_in(app.test_client(), lee)


def run(session, run_id, outside) -> PlaybookRun:
    drive(session, run_id, factory=lambda *_: runner.Surroundings(extensions=outside))
    session.commit()
    found = session.get(PlaybookRun, run_id)
    session.refresh(found)
    return found


def test_a_live_run_tells_every_customer_then_replaces_every_vigil_credential(
        app, session, client, make, configure, customers, breach, test_config, smtp_sink, fake_twilio):
    key, lee = world(app, session, make, customers)
    configure(**INTERNAL)
    outside = extensions(test_config, smtp_sink=smtp_sink, fake_twilio=fake_twilio)

    done = run(session, start(session, breach), outside)

    assert done.state == "done"
    assert [s.summary for s in done.steps] == [
        "Notified 3 of 4 contacts of 2 customers: 3 e-mails and 2 texts sent; "
        "2 failed (bad address: gil at globex; bad address: 0207 946 0000)",
        "1 API key revoked and regenerated; new keys are waiting to be shown to an admin",
        "1 integration key revoked and regenerated; new keys are waiting to be shown to an admin",
        "Ended the sessions of 1 user; 1 must choose a new password; 1 reset link e-mailed"]
    assert client.get("/api/v1/incidents", headers=bearer(key)).status_code == 401
    assert lee.client.get("/account").status_code != 200
    assert mailed_to(smtp_sink) == ["ada@acme.example", "bob@acme.example", "gil@globex.example",
                                    "lee@ops.example"]
    assert len(session.scalars(select(RevealedSecret)).all()) == 2


def test_a_drill_tells_only_its_recipients_and_changes_nothing(
        app, session, client, make, configure, customers, test_config, smtp_sink, fake_twilio):
    key, lee = world(app, session, make, customers)
    configure(**INTERNAL)
    outside = extensions(test_config, smtp_sink=smtp_sink, fake_twilio=fake_twilio)

    done = run(session, start(session, mode="drill"), outside)

    assert done.state == "done"
    assert [s.summary for s in done.steps] == [
        "Notified 1 of 1 drill recipient: 1 e-mail and 0 texts sent",
        "drill: would revoke and regenerate 1 API key (nothing changed)",
        "drill: would revoke and regenerate 1 integration key (nothing changed)",
        "drill: would end 1 user's sessions, require 1 new password and e-mail 1 reset link (nothing changed)"]
    assert client.get("/api/v1/incidents", headers=bearer(key)).status_code == 200
    assert lee.client.get("/account").status_code == 200
    assert mailed_to(smtp_sink) == ["lee@ops.example"] and texted_to(fake_twilio) == []
    assert session.scalars(select(RevealedSecret)).all() == []
