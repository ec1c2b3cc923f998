"""`vigil rotate-key`: every encrypted value (TOTP secrets, the embedded secret store, new keys waiting
to be shown) moves onto the newest key of VIGIL_ENCRYPTION_KEYS, so the old key can be dropped."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select

from incidents.app import create_app
from incidents.cli import main
from incidents.models import AuditEvent, PlaybookRun, PlaybookStep, RevealedSecret, StoredSecret, User
from incidents.services import sealed
from incidents.services.actor import Actor
from incidents.services.audit import Where
from incidents.services.playbook.rotators import vigil_keys
from incidents.services.playbook.secrets import DatabaseSecretStore
from tests.console.conftest import sign_in

A, B, C = (Fernet.generate_key().decode() for _ in range(3))
ANA_TOTP, BEN_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
DB_PASSWORD = "pg-app-rw-Hx8uQz31"
NEW_API_KEY = "vk_live_0123456789abcdef0123456789abcdef"


def keys(test_config, listed: str) -> sealed.Keyring:
    return sealed.keyring(dataclasses.replace(test_config, encryption_keys=tuple(listed.split(","))))


def rotate(test_config, listed: str, *args: str):
    env = {"DATABASE_URL": test_config.database_url, "VIGIL_INSTANCE_PATH": str(test_config.instance_path),
           "SECRET_KEY": test_config.secret_key, "VIGIL_ENCRYPTION_KEYS": listed}
    return CliRunner().invoke(main, ["rotate-key", *args], env=env)


@pytest.fixture
def sealed_under_a(app, test_config, make, session, clock):
    """Ana's TOTP secret, a stored database password and a new API key waiting to be shown, all sealed
    with key A; Ben's TOTP secret still in clear, as Vigil kept it before."""
    ring = keys(test_config, A)
    ana = make.console_user("ana@ops.example")
    ana.totp_secret = sealed.seal(ring, ANA_TOTP)
    make.console_user("ben@ops.example").totp_secret = BEN_TOTP
    DatabaseSecretStore(session, ring).put("vigil/app_rw", {"role": "app_rw", "password": DB_PASSWORD})
    run = PlaybookRun(mode="drill", state="done", started_by="lee@ops.example", started_at=clock.at,
                      aware_at=clock.at, config={})
    run.steps.append(PlaybookStep(position=1, kind="vigil_api_keys", title="Keys", state="done", config={}))
    session.add(run)
    session.flush()
    session.add(RevealedSecret(run_id=run.id, step_id=run.steps[0].id, label="API key 'grafana' (read)",
                               ciphertext=sealed.seal(ring, NEW_API_KEY), created_at=clock.at))
    session.commit()


def stored(session) -> list[str]:
    session.commit()  # a fresh snapshot: the command wrote through its own connection
    return ([u.totp_secret for u in session.scalars(select(User).order_by(User.email))]
            + list(session.scalars(select(StoredSecret.ciphertext)))
            + list(session.scalars(select(RevealedSecret.ciphertext))))


def test_after_rotating_onto_b_only_b_opens_anything(sealed_under_a, test_config, session, clock):
    result = rotate(test_config, f"{B},{A}")

    assert result.exit_code == 0, result.output
    assert "users.totp_secret: 2 re-encrypted" in result.stdout
    assert "stored_secrets.ciphertext: 1 re-encrypted" in result.stdout
    assert "revealed_secrets.ciphertext: 1 re-encrypted" in result.stdout
    assert "It is now safe to remove the older key from VIGIL_ENCRYPTION_KEYS" in result.stdout
    assert "checked" in result.stderr  # a progress line per batch
    only_a, only_b = keys(test_config, A), keys(test_config, B)
    assert [sealed.unseal(only_b, value) for value in stored(session)] == [ANA_TOTP, BEN_TOTP, _json(), NEW_API_KEY]
    for value in stored(session):
        with pytest.raises(sealed.SealError):
            sealed.unseal(only_a, value)
    assert DatabaseSecretStore(session, only_b).get("vigil/app_rw")["password"] == DB_PASSWORD
    secret_id = session.scalar(select(RevealedSecret.id))
    assert vigil_keys.reveal(session, secret_id=secret_id, actor=Actor("lee@ops.example"), where=Where("web"),
                             now=clock.at, secret_key=only_b) == ("API key 'grafana' (read)", NEW_API_KEY)


def test_ana_signs_in_on_a_vigil_that_knows_only_the_new_key(sealed_under_a, test_config, session):
    assert rotate(test_config, f"{B},{A}").exit_code == 0
    app_b = create_app(dataclasses.replace(test_config, encryption_keys=(B,)))
    try:  # her authenticator app holds the secret; sign_in types its current code
        sign_in(app_b.test_client(), SimpleNamespace(email="ana@ops.example", totp_secret=ANA_TOTP))
    finally:
        app_b.extensions["vigil.db"].engine.dispose()


def test_a_second_run_changes_nothing_and_each_run_is_audited(sealed_under_a, test_config, session):
    assert rotate(test_config, f"{B},{A}").exit_code == 0
    before = stored(session)

    again = rotate(test_config, f"{B},{A}")

    assert again.exit_code == 0, again.output
    assert "users.totp_secret: 0 re-encrypted, 2 already under the newest key" in again.stdout
    assert stored(session) == before
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "encryption.rotate_key")))
    assert len(events) == 2 and {e.door for e in events} == {"cli"}
    assert events[0].details["users.totp_secret"] == {"resealed": 2, "current": 0, "unopened": 0}
    assert all(secret not in str(e.details) for e in events for secret in (A, B, ANA_TOTP, DB_PASSWORD))


def test_small_batches_reach_every_row(sealed_under_a, test_config, session):
    result = rotate(test_config, f"{B},{A}", "--batch-size", "1")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("users.totp_secret:") == 2  # one progress line per batch of one
    assert [sealed.unseal(keys(test_config, B), v) for v in stored(session)][:2] == [ANA_TOTP, BEN_TOTP]


def test_a_value_no_key_opens_is_named_by_its_row_and_keeps_the_old_key(sealed_under_a, test_config, session):
    DatabaseSecretStore(session, keys(test_config, C)).put("vigil/lost", {"password": "under-a-key-long-gone"})
    session.commit()
    lost = session.get(StoredSecret, "vigil/lost").ciphertext

    result = rotate(test_config, f"{B},{A}")

    assert result.exit_code == 1
    assert ("stored_secrets.ciphertext of stored secret 'vigil/lost': cannot be opened with any key in "
            "VIGIL_ENCRYPTION_KEYS or the key derived from SECRET_KEY") in result.stderr
    assert lost not in result.output and "under-a-key-long-gone" not in result.output
    assert "safe to remove" not in result.output
    session.commit()
    assert session.get(StoredSecret, "vigil/lost").ciphertext == lost  # left as it was
    assert sealed.unseal(keys(test_config, B), session.get(StoredSecret, "vigil/app_rw").ciphertext) == _json()


def test_new_key_prints_a_key_that_vigil_accepts(test_config):
    result = rotate(test_config, "", "--new-key")
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert sealed.unseal(keys(test_config, key), sealed.seal(keys(test_config, key), "x")) == "x"


def _json() -> str:
    return '{"password": "' + DB_PASSWORD + '", "role": "app_rw"}'
