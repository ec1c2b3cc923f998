"""A second-factor secret sealed under a key the server no longer has: a clear 503 that says what an
admin must do, never a 500 and never the value."""
from __future__ import annotations

from incidents.services import sealed
from tests.console.conftest import csrf_from
from tests.factories import PASSWORD


def test_a_secret_no_key_opens_is_a_clear_503(app, make, session, clock):
    user = make.console_user("ana@ops.example")
    user.totp_secret = sealed.seal("another-secret-key-" + "x" * 30, "JBSWY3DPEHPK3PXP")
    session.commit()
    client = app.test_client()
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                           "email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    answer = client.post("/login/second-factor", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                       "code": "123456"})
    assert answer.status_code == 503
    text = answer.get_data(as_text=True)
    assert "VIGIL_ENCRYPTION_KEYS" in text and "JBSWY3DPEHPK3PXP" not in text
