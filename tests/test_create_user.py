"""`vigil create-user`: the first admin from the command line. The password comes from a hidden
prompt (asked twice) or one line on stdin, never an argument, and must meet the password policy."""
from __future__ import annotations

import os
import pty
import select
import sys
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select as query

from incidents.cli import main
from incidents.models import AuditEvent, User
from incidents.services.accounts import passwords

PASSWORD = "Copper-Kettle-Sings-7"
PUBLIC_URL = "http://vigil.example"


@pytest.fixture
def env(app, database_url, tmp_path):
    """The environment a user's shell would have (`app` so the tables are emptied afterwards)."""
    return {"DATABASE_URL": database_url, "VIGIL_INSTANCE_PATH": str(tmp_path / "instance"),
            "PUBLIC_URL": PUBLIC_URL}


@pytest.fixture
def vigil(env, session):
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None):
        session.close()  # hold no transaction (or SQLite lock) while the command writes
        return runner.invoke(main, list(args), input=stdin, env=env)
    return run


def users(session) -> list[User]:
    session.rollback()
    return session.scalars(query(User)).all()


def test_password_from_stdin_creates_an_admin_who_can_sign_in(vigil, session):
    result = vigil("create-user", "Lee@Ops.Example", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert f"Created lee@ops.example (admin). Sign in at {PUBLIC_URL}/login" in result.output
    assert PASSWORD not in result.output
    [user] = users(session)
    assert (user.email, user.role, user.active) == ("lee@ops.example", "admin", True)
    assert passwords.verify(user, PASSWORD) and user.totp_enrolled_at is None  # 2FA is set up at first sign-in
    event = session.scalars(query(AuditEvent)).one()
    assert (event.action, event.target, event.door, event.actor) == ("user.create", "lee@ops.example", "cli",
                                                                    "command line")


def test_password_at_a_hidden_prompt_asked_twice(env, session):
    """A real terminal: the command runs under a pseudo-terminal, as in a user's shell."""
    session.close()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.execve(sys.executable, [sys.executable, "-m", "incidents.cli", "create-user", "ana@ops.example",
                                   "--role", "ops_engineer"], {**os.environ, **env})
    output = _answer(fd, [("Password:", PASSWORD), ("Repeat for confirmation:", PASSWORD)])
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert "Created ana@ops.example (ops_engineer)" in output
    assert PASSWORD not in output  # not echoed
    [user] = users(session)
    assert passwords.verify(user, PASSWORD)


def _answer(fd: int, prompts: list[tuple[str, str]], timeout: float = 60) -> str:
    """Type each answer when its prompt appears; everything the terminal showed, to the end."""
    seen, deadline = "", time.monotonic() + timeout
    pending = list(prompts)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096).decode(errors="replace")
        except OSError:  # the child exited and closed the terminal
            return seen
        if not chunk:
            return seen
        seen += chunk
        if pending and seen.rstrip().endswith(pending[0][0]):
            os.write(fd, (pending.pop(0)[1] + "\n").encode())
    raise AssertionError(f"create-user did not finish; the terminal showed:\n{seen}")


def test_a_weak_password_is_refused_with_the_policy(vigil, session):
    result = vigil("create-user", "lee@ops.example", "--role", "admin", stdin="password1234\n")
    assert result.exit_code == 1
    assert "Error:" in result.output and "upper-case" in result.output
    assert users(session) == []


def test_an_existing_account_is_refused(vigil, session):
    assert vigil("create-user", "lee@ops.example", "--role", "admin", stdin=PASSWORD + "\n").exit_code == 0
    again = vigil("create-user", "LEE@ops.example", "--role", "viewer", stdin="Another-Good-Pass-88\n")
    assert again.exit_code == 1 and "lee@ops.example already has an account." in again.output
    [user] = users(session)
    assert user.role == "admin" and passwords.verify(user, PASSWORD)


def test_on_call_staff_from_vigil_apply_can_be_given_a_password(vigil, make, session):
    make.user("ben@ops.example")  # no password yet
    result = vigil("create-user", "ben@ops.example", "--role", "responder", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    [user] = users(session)
    assert user.role == "responder" and passwords.verify(user, PASSWORD)


@pytest.mark.parametrize("args, message", [
    (["lee@ops.example", "--role", "superuser"], "Invalid value for '--role'"),
    (["lee@ops.example"], "Missing option '--role'"),
    (["not an e-mail", "--role", "admin"], "E-mail:"),
])
def test_bad_roles_and_addresses_are_refused(vigil, session, args, message):
    result = vigil("create-user", *args, stdin=PASSWORD + "\n")
    assert result.exit_code in (1, 2) and message in result.output
    assert users(session) == []
