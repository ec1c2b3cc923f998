"""The console's API keys page makes keys for one customer: read-only, shown with their customer."""
from __future__ import annotations

import re

from sqlalchemy import select

from incidents.domain.enums import Role
from incidents.models import ApiKey


def test_an_admin_makes_a_key_for_one_customer(console, make, client, session, clock):
    make.customer("acme")
    make.customer("globex")
    admin = console(Role.ADMIN, "lee@ops.example")
    form = admin.get("/api-keys").get_data(as_text=True)
    assert "Customer: Acme" in form and "Ops: every customer" in form

    made = admin.post("/api-keys", {"name": "acme grafana", "scope": "read", "customer": "acme"})
    assert made.status_code == 200
    key = re.search(r'<code id="api-key" class="secret">([^<]+)</code>', made.get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/incidents", headers=headers).status_code == 200
    assert client.get("/api/v1/incidents?customer=globex", headers=headers).status_code == 403
    listing = admin.get("/api-keys").get_data(as_text=True)
    assert re.search(r'data-label="For">Acme<', listing)


def test_a_customers_key_with_write_scope_is_refused(console, make, session, clock):
    make.customer("acme")
    admin = console(Role.ADMIN, "lee@ops.example")
    refused = admin.post("/api-keys", {"name": "acme bot", "scope": "write", "customer": "acme"})
    assert refused.status_code == 422
    assert "can only read" in refused.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(ApiKey)).all() == []
