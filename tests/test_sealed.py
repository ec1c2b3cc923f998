"""Sealed secrets: readable with the same keys, opaque in the database, refused with others; the keys
come from VIGIL_ENCRYPTION_KEYS (newest first) or, unset, from SECRET_KEY."""
import dataclasses
import logging

import pytest
from cryptography.fernet import Fernet

import config as settings
from incidents.services import sealed
from incidents.services.sealed import SealError, seal, unseal
from tests.console.conftest import sign_in
from tests.factories import totp_in_clear

KEY = "k" * 40
NEW, OLD = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_round_trip_and_no_plaintext_in_the_sealed_form():
    token = seal(KEY, "AKIA-new-secret-value")
    assert "AKIA" not in token and "secret" not in token
    assert unseal(KEY, token) == "AKIA-new-secret-value"
    assert seal(KEY, "same") != seal(KEY, "same")  # a fresh IV each time


def test_another_key_or_a_tampered_token_is_refused_without_leaking():
    token = seal(KEY, "hunter2-long-secret")
    with pytest.raises(SealError) as error:
        unseal("x" * 40, token)
    assert "hunter2" not in str(error.value)
    with pytest.raises(SealError):
        unseal(KEY, token[:-4] + "AAAA")


def test_a_step_context_printed_or_logged_carries_no_environment_or_key():
    from incidents.services.playbook.rotators.base import Context
    ctx = Context(session=None, run_id=1, step_id=2, mode="live", config={}, playbook={}, checkpoint={},
                  actor="lee", now=lambda: None, environ={"BREACH_PG_ADMIN_DSN": "postgresql://a:pw-123@h/db"},
                  extensions={"secret_key": KEY})
    shown = repr(ctx)
    assert "pw-123" not in shown and KEY not in shown and "run_id=1" in shown


# --- VIGIL_ENCRYPTION_KEYS -------------------------------------------------------------------------


def _config(tmp_path, **env) -> settings.Config:
    return settings.load({"VIGIL_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": KEY, **env})


def test_the_newest_key_seals_and_any_listed_key_opens(tmp_path):
    old = sealed.keyring(_config(tmp_path, VIGIL_ENCRYPTION_KEYS=OLD))
    both = sealed.keyring(_config(tmp_path, VIGIL_ENCRYPTION_KEYS=f" {NEW} , {OLD} "))
    new = sealed.keyring(_config(tmp_path, VIGIL_ENCRYPTION_KEYS=NEW))
    token = seal(old, "totp-JBSWY3DPEHPK3PXP")
    assert unseal(both, token) == "totp-JBSWY3DPEHPK3PXP"
    with pytest.raises(SealError, match="any key in VIGIL_ENCRYPTION_KEYS"):
        unseal(new, token)
    assert unseal(new, seal(both, "x")) == "x"  # sealed with the first key
    assert NEW not in repr(both) and OLD not in repr(both) and KEY not in repr(both)


def test_without_the_setting_the_key_is_derived_from_secret_key_as_before(tmp_path):
    derived = sealed.keyring(_config(tmp_path))
    assert not derived.configured
    assert unseal(KEY, seal(derived, "a")) == "a" and unseal(derived, seal(KEY, "b")) == "b"
    # Setting VIGIL_ENCRYPTION_KEYS later: what was sealed before still opens, until rotate-key moves it.
    assert unseal(sealed.keyring(_config(tmp_path, VIGIL_ENCRYPTION_KEYS=NEW)), seal(KEY, "c")) == "c"


@pytest.mark.parametrize("value, position", [("not-a-key", "key 1 of 1"), (f"{NEW},c2VjcmV0", "key 2 of 2"),
                                             (f"{NEW},{NEW}", "listed twice")])
def test_a_bad_key_is_named_by_its_position_never_by_its_value(tmp_path, value, position):
    with pytest.raises(settings.ConfigError) as error:
        _config(tmp_path, VIGIL_ENCRYPTION_KEYS=value)
    message = str(error.value)
    assert message.startswith("VIGIL_ENCRYPTION_KEYS: ") and position in message
    assert "not-a-key" not in message and "c2VjcmV0" not in message and NEW not in message


def test_a_production_start_without_keys_warns_and_the_embedded_default_does_not(tmp_path, caplog):
    log = logging.getLogger("test.sealed")
    production = dataclasses.replace(_config(tmp_path), database_url="postgresql+psycopg://vigil@db/vigil")
    with caplog.at_level(logging.WARNING, logger="test.sealed"):
        sealed.warn_at_start(_config(tmp_path), log)  # vigil up: SQLite, no settings
        sealed.warn_at_start(dataclasses.replace(production, encryption_keys=(NEW,)), log)
        assert caplog.messages == []
        sealed.warn_at_start(production, log)
    [warning] = caplog.messages
    assert "VIGIL_ENCRYPTION_KEYS is not set" in warning and KEY not in warning


def test_a_totp_secret_kept_in_clear_before_still_signs_in_and_is_sealed_on_that_use(client, make, session, clock):
    user = make.console_user()
    clear = user.totp_secret  # the factory stores it in clear, as Vigil did before 0011
    assert not sealed.is_sealed(clear)
    sign_in(client, user)
    session.refresh(user)
    assert sealed.is_sealed(user.totp_secret) and clear not in user.totp_secret
    assert totp_in_clear(user.totp_secret) == clear
