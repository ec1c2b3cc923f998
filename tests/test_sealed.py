"""Sealed secrets: readable with the same SECRET_KEY, opaque in the database, refused with another."""
import pytest

from incidents.services.sealed import SealError, seal, unseal

KEY = "k" * 40


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
