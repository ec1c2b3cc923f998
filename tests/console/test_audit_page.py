"""The audit trail page: newest first, filters, paging, a CSV export that a spreadsheet cannot turn
into formulas, and the hash chain check, in the console and as `vigil audit verify`."""
from __future__ import annotations

import csv
import io
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import text as sql

from incidents.cli import main
from incidents.domain.enums import Role
from incidents.services import audit
from incidents.services.actor import Actor


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def admin(console):
    return console(Role.ADMIN, "lee@ops.example")


@pytest.fixture
def record(session, clock):
    """record(action, target, actor=...): one audit row, committed."""
    def add(action: str, target: str, actor: str = "lee@ops.example", **details):
        row = audit.record(session, actor=Actor(actor), where=audit.Where("console", "192.0.2.1"), action=action,
                           target=target, now=clock(), details=details)
        session.commit()
        clock.advance(seconds=1)
        return row
    return add


def test_audit_page_lists_newest_first_and_says_the_chain_is_intact(admin, record, clock):
    record("user.invite", "new@ops.example", role="responder")
    record("api_key.create", "grafana", actor="kim@ops.example", scope="read")
    page = text(admin.get("/audit"))
    assert page.index("api_key.create") < page.index("user.invite")
    assert "kim@ops.example" in page and "scope: read" in page and "192.0.2.1" in page
    assert "Hash chain intact (2 rows)" in page


def test_audit_filters_by_actor_action_and_target(admin, record, clock):
    record("user.invite", "new@ops.example")
    record("user.set_role", "ana@ops.example", actor="kim@ops.example")
    record("api_key.revoke", "ci_bot")
    by_actor = text(admin.get("/audit?actor=KIM"))
    shown = re.compile(r'<code class="action">([\w.]+)</code>')
    assert shown.findall(by_actor) == ["user.set_role"]
    by_action = text(admin.get("/audit?action=user."))
    assert shown.findall(by_action) == ["user.set_role", "user.invite"]
    exact = text(admin.get("/audit?action=user.invite"))
    assert "new@ops.example" in exact and "ana@ops.example" not in exact
    assert "ci_bot" in text(admin.get("/audit?target=i_b"))
    literal = text(admin.get("/audit?target=%25"))  # % is a character here, not a wildcard
    assert "No audit entries match" in literal
    assert admin.get("/audit?target=" + "x" * 301).status_code == 400
    assert admin.get("/audit?before=abc").status_code == 400


def test_audit_pages_older_entries(admin, session, clock):
    for n in range(60):
        audit.record(session, actor=Actor("lee@ops.example"), where=audit.Where("cli"), action="user.invite",
                     target=f"u{n:03d}@ops.example", now=clock())
    session.commit()
    first = text(admin.get("/audit"))
    assert "u059@" in first and "u010@" in first and "u009@" not in first
    older = re.search(r'href="(/audit\?before=\d+)"', first).group(1)
    second = text(admin.get(older))
    assert "u009@" in second and "u000@" in second and "u010@" not in second
    assert "Hash chain" not in second  # checked on the first page only


def test_csv_export_has_a_header_every_action_and_no_formulas(admin, record, clock):
    record("user.invite", "=HYPERLINK(\"http://evil.example\",\"click\")", actor="+1-555")
    record("user.set_role", "-2+3", actor="@SUM(A1:A9)", note="=cmd|' /C calc'!A0")
    record("api_key.create", "plain", scope="read")
    response = admin.get("/audit.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=\"vigil-audit-")
    rows = list(csv.reader(io.StringIO(text(response))))
    assert rows[0] == ["id", "time_utc", "actor", "door", "ip", "action", "target", "details"]
    assert [r[5] for r in rows[1:]] == ["api_key.create", "user.set_role", "user.invite"]
    invite = rows[3]
    assert invite[6] == "'=HYPERLINK(\"http://evil.example\",\"click\")" and invite[2] == "'+1-555"
    role = rows[2]
    assert role[6] == "'-2+3" and role[2] == "'@SUM(A1:A9)"
    assert rows[1][6] == "plain" and rows[1][7] == '{"scope": "read"}'
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    only = list(csv.reader(io.StringIO(text(admin.get("/audit.csv?action=api_key")))))
    assert len(only) == 2 and only[1][5] == "api_key.create"


def test_an_edited_row_shows_on_the_page(admin, record, session, clock):
    record("user.invite", "new@ops.example")
    second = record("user.set_role", "ana@ops.example")
    session.execute(sql("UPDATE audit_events SET target = 'someone-else@ops.example' WHERE id = :id"),
                    {"id": second.id})
    session.commit()
    page = text(admin.get("/audit"))
    assert "The hash chain does not verify" in page
    assert f"row {second.id}: its contents do not match its hash (it was edited)" in page


@pytest.fixture
def vigil(app, monkeypatch, database_url, tmp_path, session):
    """Run `vigil ARGS...` as a user would, against the test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VIGIL_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()

    def run(*args: str):
        session.close()  # hold no transaction (or SQLite lock) while the command runs
        return runner.invoke(main, list(args))
    return run


def test_vigil_audit_verify_finds_an_edited_row(vigil, record, session, clock):
    ok = vigil("audit", "verify")
    assert ok.exit_code == 0 and ok.output.strip() == "audit trail intact: 0 rows"
    record("user.invite", "new@ops.example")
    edited = record("user.set_role", "ana@ops.example")
    record("api_key.create", "ci")
    assert vigil("audit", "verify").output.strip() == "audit trail intact: 3 rows"
    session.execute(sql("UPDATE audit_events SET target = 'x@ops.example' WHERE id = :id"), {"id": edited.id})
    session.commit()
    broken = vigil("audit", "verify")
    assert broken.exit_code == 1
    assert f"row {edited.id}: its contents do not match its hash (it was edited)" in broken.output
    assert "audit trail intact" not in broken.output
