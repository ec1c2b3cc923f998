"""postgresql_role against the real local PostgreSQL: the new password is stored, set as a SCRAM
verifier computed by Vigil, logs in; the old one is refused; a crash between storing and setting
resumes with the stored password; bad input is refused with a plain message."""
from __future__ import annotations

import base64

import psycopg
import pytest
from psycopg import sql

from incidents.models.playbook import StoredSecret
from incidents.services.playbook.rotators import scram
from incidents.services.playbook.rotators.base import RotationError
from incidents.services.playbook.rotators.postgresql_role import PostgresqlRole
from incidents.services.playbook.secrets import DatabaseSecretStore
from tests.playbook.services import (pg_admin_dsn, pg_connect, pg_role, pg_scram, rotator_context,  # noqa: F401
                                     run_rotator, unique)

KEY = "secret-key-" + "p" * 40
ENV = "VIGIL_TEST_PG_ADMIN"


class WorkerDied(Exception):
    pass


def context(session, dsn, role, checkpoint=None):
    return rotator_context(config={"role": role, "dsn_env": ENV}, environ={ENV: dsn},
                           secrets=DatabaseSecretStore(session, KEY), session=session, checkpoint=checkpoint)


def logs_in(dsn, role, password) -> bool:
    try:
        pg_connect(dsn, user=role, password=password).close()
        return True
    except psycopg.OperationalError:
        return False


def stored_password(session, role) -> str:
    return DatabaseSecretStore(session, KEY).get(f"vigil/breach/postgresql/{role}")["password"]


def test_new_password_logs_in_and_the_old_one_is_refused(session, clock, pg_admin_dsn, pg_role):
    role, old = pg_role
    assert logs_in(pg_admin_dsn, role, old) and not logs_in(pg_admin_dsn, role, "not-it")

    summary = run_rotator(PostgresqlRole(), context(session, pg_admin_dsn, role))

    new = stored_password(session, role)
    assert logs_in(pg_admin_dsn, role, new)
    assert not logs_in(pg_admin_dsn, role, old)
    assert summary == f"{role}: new password verified by a fresh login; other passwords are refused"
    with pg_connect(pg_admin_dsn) as conn:  # the server holds our verifier, never saw the plaintext
        verifier = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,)).fetchone()[0]
    assert scram.matches(new, verifier) and new not in verifier


def test_a_crash_after_storing_sets_the_stored_password_not_another(session, clock, pg_admin_dsn, pg_role):
    role, old = pg_role
    persisted: dict = {}

    def dies_after_storing(checkpoint):
        session.commit()
        persisted.update(checkpoint)
        if checkpoint.get("stored") and not checkpoint.get("altered"):
            raise WorkerDied()

    rotator = PostgresqlRole()
    ctx = context(session, pg_admin_dsn, role)
    ctx._save = dies_after_storing
    plan = rotator.plan(ctx)
    ctx.save(plan=plan)
    with pytest.raises(WorkerDied):
        rotator.apply(ctx, plan)
    assert logs_in(pg_admin_dsn, role, old)  # not changed yet, but the new one is kept

    resumed = context(session, pg_admin_dsn, role, checkpoint=dict(persisted))
    rotator.apply(resumed, plan)
    rotator.apply(resumed, plan)
    rotator.verify(resumed, plan)

    assert session.get(StoredSecret, f"vigil/breach/postgresql/{role}").version == 1
    assert logs_in(pg_admin_dsn, role, stored_password(session, role))


def test_a_missing_role_is_refused_by_name(session, pg_admin_dsn):
    with pytest.raises(RotationError) as error:
        PostgresqlRole().plan(context(session, pg_admin_dsn, "vigil_no_such_role"))
    assert error.value.message == "PostgreSQL role 'vigil_no_such_role' does not exist"


def test_a_missing_admin_variable_is_named_and_nothing_else(session):
    ctx = rotator_context(config={"role": "app", "dsn_env": "APP_PG_ADMIN"}, environ={},
                          secrets=DatabaseSecretStore(session, KEY), session=session)
    with pytest.raises(RotationError) as error:
        PostgresqlRole().plan(ctx)
    assert error.value.message == ("the environment variable APP_PG_ADMIN is not set "
                                   "(the admin connection string for PostgreSQL)")


def test_wrong_admin_credentials_are_refused_without_showing_them(session, pg_admin_dsn, pg_role):
    role, old = pg_role
    dsn = f"{pg_admin_dsn} user={role} password=wrong-{old}" if "://" not in pg_admin_dsn else \
        pg_admin_dsn.replace("postgres@", f"{role}:wrong-{old}@", 1)
    with pytest.raises(RotationError) as error:
        PostgresqlRole().plan(context(session, dsn, role))
    assert error.value.message == f"cannot connect to PostgreSQL as the admin in {ENV}: the login was refused"
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_a_role_the_server_lets_in_without_a_password_fails_verification(session, clock, pg_admin_dsn):
    role = unique("vigil_test_trusted")  # not in vigil_rotated: the suite's server trusts it on 127.0.0.1
    with pg_connect(pg_admin_dsn) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        if not logs_in(pg_admin_dsn, role, "anything"):
            pytest.skip("this server asks every role for a password; nothing to show here")
        with pytest.raises(RotationError) as error:
            run_rotator(PostgresqlRole(), context(session, pg_admin_dsn, role))
        assert "with a made-up password" in error.value.message
    finally:
        with pg_connect(pg_admin_dsn) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_scram_verifier_is_the_one_postgresql_computes():
    # PostgreSQL 15's own verifier for CREATE ROLE ... PASSWORD 'pw123'
    made_by_postgresql = ("SCRAM-SHA-256$4096:2EdZeoio2X3HXWvKS4B1Pg==$"
                          "wLJtEgBhXSdPhab9SMW6nG6sYd6E8ObAlLExBn1pM/k=:1Dp7BY/ezl1CSkXUfjJtEqExXxF1v/8olq5HVxlURZI=")
    salt = base64.b64decode("2EdZeoio2X3HXWvKS4B1Pg==")
    assert scram.verifier("pw123", salt=salt) == made_by_postgresql
    assert scram.matches("pw123", made_by_postgresql) and not scram.matches("pw124", made_by_postgresql)
    assert not scram.matches("pw123", "md5" + "0" * 32)
