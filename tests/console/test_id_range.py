"""Ids past PostgreSQL's integer range are 'no such page' (404) in the console, not a database error."""
from __future__ import annotations

import pytest

from incidents.domain.enums import Role

TOO_BIG = 2**31


@pytest.mark.parametrize("path", [f"/incidents/{TOO_BIG}", f"/playbook/runs/{TOO_BIG}"])
def test_an_id_past_the_integer_range_is_a_404(console, path):
    admin = console(Role.ADMIN, "lee@ops.example")
    assert admin.get(path).status_code == 404
