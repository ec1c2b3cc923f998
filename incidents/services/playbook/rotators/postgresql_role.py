"""postgresql_role: a new password for a PostgreSQL role, stored first, set as a SCRAM-SHA-256
verifier computed here (the plaintext never reaches the server or its logs), proven by a fresh
login.

Connects as the admin whose connection string is in the environment variable `dsn_env` (never in
the config, never shown). Steps: generate, store (checkpoint "stored"), ALTER ROLE (checkpoint
"altered"). A resume after "stored" sets the stored password rather than a new one, so the store
and the server never disagree for long; after "altered" there is nothing left to apply.

Why the old password is dead once verify passes: a role has one password; the new one logs in and
a made-up one is refused (so the server really checks passwords on this connection).
"""
from __future__ import annotations

import logging
import secrets as pysecrets
from typing import Any

import psycopg
from psycopg import sql

from incidents.services.playbook.rotators import scram
from incidents.services.playbook.rotators.base import Context, RotationError
from incidents.services.playbook.secrets import new_password, store

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10


def secret_name(role: str) -> str:
    return f"vigil/breach/postgresql/{role}"


class PostgresqlRole:
    kind = "postgresql_role"

    def __repr__(self) -> str:
        return "PostgresqlRole()"

    def plan(self, ctx: Context) -> dict[str, Any]:
        role = _role(ctx)
        with _admin(ctx) as conn:
            row = _run(conn, sql.SQL("SELECT rolcanlogin FROM pg_roles WHERE rolname = {}").format(sql.Literal(role)),
                       f"could not look up role '{role}'").fetchone()
        if row is None:
            raise RotationError(f"PostgreSQL role '{role}' does not exist")
        if not row[0]:
            raise RotationError(f"PostgreSQL role '{role}' cannot log in (NOLOGIN), so a new password cannot be proven")
        return {"role": role}

    def apply(self, ctx: Context, plan: dict[str, Any]) -> None:
        if ctx.checkpoint.get("altered"):
            return
        role = plan["role"]
        value = new_password(ctx, secret_name(role), {"role": role})
        statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(scram.verifier(value["password"])))
        with _admin(ctx) as conn:
            _run(conn, statement, f"could not change the password of role '{role}'")
        ctx.save(altered=True)
        log.info("PostgreSQL role %s: new password set (stored as %s)", role, secret_name(role))

    def verify(self, ctx: Context, plan: dict[str, Any]) -> str:
        role = plan["role"]
        value = store(ctx).get(secret_name(role))
        if not value or value.get("role") != role:
            raise RotationError(f"the secret store does not hold role '{role}''s new password; retry this step")
        if not _logs_in(ctx, role, value["password"]):
            raise RotationError(f"PostgreSQL role '{role}' cannot log in with its new password")
        if _logs_in(ctx, role, pysecrets.token_urlsafe(32)):
            raise RotationError(f"PostgreSQL let role '{role}' in with a made-up password (pg_hba.conf does not "
                                "ask it for one), so the old password cannot be shown to be dead")
        return f"{role}: new password verified by a fresh login; other passwords are refused"


def _role(ctx: Context) -> str:
    role = ctx.config.get("role")
    if not isinstance(role, str) or not role:
        raise RotationError("postgresql_role needs the role's name under 'role'")
    return role


def _dsn(ctx: Context) -> str:
    name = ctx.config.get("dsn_env")
    if not isinstance(name, str) or not name:
        raise RotationError("postgresql_role needs 'dsn_env': the environment variable with the admin "
                            "connection string")
    dsn = ctx.environ.get(name)
    if not dsn:
        raise RotationError(f"the environment variable {name} is not set (the admin connection string for PostgreSQL)")
    return dsn


def _admin(ctx: Context) -> psycopg.Connection:
    name = ctx.config.get("dsn_env")
    try:
        return psycopg.connect(_dsn(ctx), autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.Error as exc:
        raise RotationError(f"cannot connect to PostgreSQL as the admin in {name}: {_reason(exc)}") from None


def _logs_in(ctx: Context, role: str, password: str) -> bool:
    """A fresh connection as `role`: the admin's host, port, database and TLS settings."""
    try:
        with psycopg.connect(_dsn(ctx), user=role, password=password, connect_timeout=CONNECT_TIMEOUT) as conn:
            return conn.execute("SELECT current_user").fetchone()[0] == role
    except psycopg.OperationalError as exc:
        if _reason(exc) == "the login was refused":
            return False
        raise RotationError(f"cannot reach PostgreSQL to log in as role '{role}': {_reason(exc)}") from None
    except psycopg.Error as exc:
        raise RotationError(f"PostgreSQL failed a login as role '{role}': {_reason(exc)}") from None


def _run(conn: psycopg.Connection, statement: sql.Composable, doing: str) -> psycopg.Cursor:
    try:
        return conn.execute(statement)
    except psycopg.Error as exc:  # its message may quote the statement: a verifier
        raise RotationError(f"PostgreSQL {doing}: {_reason(exc)}") from None


def _reason(exc: psycopg.Error) -> str:
    """Plain words for a driver error, without its message (which can quote a statement or a
    connection string)."""
    state = getattr(exc, "sqlstate", None)
    if state in ("28P01", "28000") or "authentication failed" in str(exc) or "no pg_hba.conf entry" in str(exc):
        return "the login was refused"
    if state == "42501":
        return "permission denied"
    if state:
        return f"error {state} ({type(exc).__name__})"
    if isinstance(exc, psycopg.ProgrammingError):
        return "the connection string is not valid"
    return "no answer from the server"
