"""vigil_api_keys and vigil_integration_keys: every active key is replaced (same name, scope and
customer; same integration), the old one is refused at once, the new one is kept sealed until an
admin has seen it once, and it works after that; a crash mid-step replaces each key exactly once;
a drill changes nothing; the new keys never reach a log, a summary, the timeline or the audit trail."""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from incidents import clock as clock_module
from incidents.models import ApiKey, AuditEvent, Customer, IncidentEvent, Integration, PlaybookStep, RevealedSecret
from incidents.services import api_keys, audit
from incidents.services.errors import Conflict, NotFound
from incidents.services.playbook.rotators.base import RotationError
from incidents.services.playbook.rotators.vigil_keys import ApiKeys, IntegrationKeys, reveal
from tests.helpers import bearer, fixture
from tests.playbook.conftest import ADMIN, start
from tests.playbook.test_notify import WorkerDied, extensions, run_step, step_context

ROTATE = {"rotate": [{"type": "vigil_api_keys"}, {"type": "vigil_integration_keys"}]}
CONSOLE = audit.Where("console", "127.0.0.1")


@pytest.fixture
def keys(session, make, breach):
    """Three active API keys (one for a customer) and one revoked long ago; plaintext by name."""
    made = {"grafana-read": make.api_key("read", "grafana"), "deploy-write": make.api_key("write", "deploy")}
    row, made["acme dashboard"] = api_keys.create(session, name="acme dashboard", scope="read", customer="acme")
    gone, _ = api_keys.create(session, name="old laptop", scope="admin")
    api_keys.revoke(session, key_id=gone.id)
    session.commit()
    return made


def acme(session) -> Customer:
    return session.scalars(select(Customer).where(Customer.slug == "acme")).one()


def works(client, key: str) -> int:
    return client.get("/api/v1/incidents", headers=bearer(key)).status_code


def alert(client, key: str) -> int:
    return client.post("/api/v1/alerts/alertmanager", json=fixture("alertmanager-v4-firing.json"),
                       headers=bearer(key)).status_code


def reveal_all(session, run_id, test_config) -> dict[str, str]:
    shown = {}
    for secret_id in session.scalars(select(RevealedSecret.id).where(RevealedSecret.run_id == run_id)
                                     .order_by(RevealedSecret.id)).all():
        label, plaintext = reveal(session, secret_id=secret_id, actor=ADMIN, where=CONSOLE, now=clock_module.now(),
                                  secret_key=test_config.secret_key)
        shown[label] = plaintext
    session.commit()
    return shown


def test_old_api_keys_are_refused_at_once_and_the_new_ones_work_once_shown(
        session, client, configure, breach, keys, test_config, caplog):
    configure(**ROTATE)
    run_id = start(session, breach)
    assert all(works(client, key) == 200 for key in keys.values())
    caplog.set_level(logging.DEBUG)

    summary = run_step(ApiKeys(), step_context(session, run_id, "vigil_api_keys", extensions(test_config)))

    assert summary == "3 API keys revoked and regenerated; new keys are waiting to be shown to an admin"
    assert [works(client, key) for key in keys.values()] == [401, 401, 401]
    shown = reveal_all(session, run_id, test_config)
    assert sorted(shown) == ["API key 'acme dashboard' (read, customer acme)", "API key 'deploy-write' (write)",
                             "API key 'grafana-read' (read)"]
    assert [works(client, key) for key in shown.values()] == [200, 200, 200]
    active = session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.name)).all()
    assert [(k.name, k.scope, k.customer.slug if k.customer else None) for k in active] == [
        ("acme dashboard", "read", "acme"), ("deploy-write", "write", None), ("grafana-read", "read", None)]
    assert client.get("/api/v1/incidents?customer=globex",
                      headers=bearer(shown["API key 'acme dashboard' (read, customer acme)"])).status_code == 403
    _never_shown_anywhere(session, run_id, [*keys.values(), *shown.values()], caplog, summary)


def test_integration_keys_are_replaced_and_the_old_ones_refused(session, client, configure, breach, make,
                                                                 test_config, caplog):
    service = make.service("checkout", customer=acme(session), types=("alertmanager", "generic"))
    configure(**ROTATE)
    run_id = start(session, breach)
    old = service.keys["alertmanager"]
    assert alert(client, old) == 202
    caplog.set_level(logging.DEBUG)

    summary = run_step(IntegrationKeys(), step_context(session, run_id, "vigil_integration_keys",
                                                       extensions(test_config)))

    assert summary == "2 integration keys revoked and regenerated; new keys are waiting to be shown to an admin"
    assert alert(client, old) == 401
    shown = reveal_all(session, run_id, test_config)
    assert sorted(shown) == ["Integration key checkout/alertmanager (alertmanager)",
                             "Integration key checkout/generic (generic)"]
    assert alert(client, shown["Integration key checkout/alertmanager (alertmanager)"]) == 202
    assert session.scalar(select(Integration.key_hint).where(Integration.name == "alertmanager")) == \
        shown["Integration key checkout/alertmanager (alertmanager)"][-4:]
    _never_shown_anywhere(session, run_id, [*service.keys.values(), *shown.values()], caplog, summary)


def test_a_key_is_shown_once_then_refused_with_409(session, configure, breach, keys, test_config):
    configure(**ROTATE)
    run_id = start(session, breach)
    run_step(ApiKeys(), step_context(session, run_id, "vigil_api_keys", extensions(test_config)))
    secret_id = session.scalars(select(RevealedSecret.id).where(RevealedSecret.run_id == run_id)).first()
    reveal(session, secret_id=secret_id, actor=ADMIN, where=CONSOLE, now=clock_module.now(),
           secret_key=test_config.secret_key)
    session.commit()

    with pytest.raises(Conflict, match="was already shown, to lee@ops.example at 2026-11-23 08:30 UTC") as refused:
        reveal(session, secret_id=secret_id, actor=ADMIN, where=CONSOLE, now=clock_module.now(),
               secret_key=test_config.secret_key)
    assert refused.value.status == 409
    row = session.get(RevealedSecret, secret_id)
    assert (row.ciphertext, row.revealed_by) == (None, "lee@ops.example")
    with pytest.raises(NotFound):
        reveal(session, secret_id=secret_id + 1000, actor=ADMIN, where=CONSOLE, now=clock_module.now(),
               secret_key=test_config.secret_key)
    [shown] = session.scalars(select(AuditEvent).where(AuditEvent.action == "playbook.reveal_key")).all()
    assert (shown.actor, shown.door, shown.ip) == ("lee@ops.example", "console", "127.0.0.1")


@pytest.mark.parametrize("committed", [True, False], ids=["after-commit", "before-commit"])
def test_a_worker_that_dies_mid_step_replaces_every_key_exactly_once(session, client, configure, breach, keys,
                                                                    test_config, app, committed):
    configure(**ROTATE)
    run_id = start(session, breach)
    step = session.scalars(select(PlaybookStep).where(PlaybookStep.run_id == run_id,
                                                      PlaybookStep.kind == "vigil_api_keys")).one()

    def dies_at_the_first_replacement(checkpoint):
        if checkpoint.get("replaced"):
            if committed:
                step.checkpoint = checkpoint
                session.commit()
            else:
                session.rollback()
            raise WorkerDied()
        step.checkpoint = checkpoint
        session.commit()

    ctx = step_context(session, run_id, "vigil_api_keys", extensions(test_config),
                       save=dies_at_the_first_replacement)
    with pytest.raises(WorkerDied):
        run_step(ApiKeys(), ctx)
    session.commit()
    assert works(client, keys["grafana-read"]) == (401 if committed else 200)

    resumed = app.extensions["vigil.db"].sessionmaker()
    try:
        summary = run_step(ApiKeys(), step_context(resumed, run_id, "vigil_api_keys", extensions(test_config)))
    finally:
        resumed.close()

    assert summary == "3 API keys revoked and regenerated; new keys are waiting to be shown to an admin"
    active = session.scalars(select(ApiKey.name).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.name)).all()
    assert active == ["acme dashboard", "deploy-write", "grafana-read"]
    assert len(session.scalars(select(ApiKey).where(ApiKey.name == "grafana-read")).all()) == 2  # old + one new
    assert len(session.scalars(select(RevealedSecret)).all()) == 3
    assert [works(client, key) for key in keys.values()] == [401, 401, 401]


def test_applying_again_replaces_nothing_more(session, configure, breach, keys, test_config, make):
    make.service("checkout", customer=acme(session), types=("alertmanager",))
    configure(**ROTATE)
    run_id = start(session, breach)
    for kind, rotator in (("vigil_api_keys", ApiKeys()), ("vigil_integration_keys", IntegrationKeys())):
        first = run_step(rotator, step_context(session, run_id, kind, extensions(test_config)))
        assert run_step(rotator, step_context(session, run_id, kind, extensions(test_config))) == first

    assert len(session.scalars(select(ApiKey)).all()) == 4 + 3
    assert len(session.scalars(select(RevealedSecret)).all()) == 3 + 1


def test_a_drill_changes_nothing_and_says_what_it_would_do(session, client, configure, breach, keys, make,
                                                           test_config):
    make.service("checkout", customer=acme(session), types=("alertmanager", "generic"))
    configure(**ROTATE)
    run_id = start(session, mode="drill")

    api = run_step(ApiKeys(), step_context(session, run_id, "vigil_api_keys", extensions(test_config)))
    integrations = run_step(IntegrationKeys(), step_context(session, run_id, "vigil_integration_keys",
                                                            extensions(test_config)))

    assert api == "drill: would revoke and regenerate 3 API keys (nothing changed)"
    assert integrations == "drill: would revoke and regenerate 2 integration keys (nothing changed)"
    assert all(works(client, key) == 200 for key in keys.values())
    assert session.scalars(select(RevealedSecret)).all() == []


def test_without_secret_key_nothing_is_changed(session, client, configure, breach, keys, test_config):
    configure(**ROTATE)
    run_id = start(session, breach)
    outside = {**extensions(test_config), "secret_key": ""}

    with pytest.raises(RotationError, match="SECRET_KEY is not available to seal the new keys; nothing was changed"):
        run_step(ApiKeys(), step_context(session, run_id, "vigil_api_keys", outside))
    session.rollback()
    assert all(works(client, key) == 200 for key in keys.values())


def _never_shown_anywhere(session, run_id, secrets: list[str], caplog, summary: str) -> None:
    """Old and new keys: not in the log, the summary, the step's checkpoint, the timeline or the audit trail."""
    session.commit()
    places = {"log": caplog.text, "summary": summary,
              "checkpoints": json.dumps([s.checkpoint for s in session.scalars(
                  select(PlaybookStep).where(PlaybookStep.run_id == run_id))]),
              "timeline": " ".join(e.message + json.dumps(e.data) for e in session.scalars(select(IncidentEvent))),
              "audit": " ".join(e.target + json.dumps(e.details) for e in session.scalars(select(AuditEvent))),
              "sealed": " ".join(s.ciphertext or "" for s in session.scalars(select(RevealedSecret)))}
    for secret in secrets:
        for where, text in places.items():
            assert secret not in text, f"a key is in the {where}"
