"""No secret, old or new, appears in what people and logs see of an external rotation: the log
records (every logger, DEBUG up), the summary, the errors of refused steps (message, repr and
traceback), and the repr of the rotator, its plan and its checkpoint."""
from __future__ import annotations

import logging
import traceback

import boto3
import pytest

from incidents.services.playbook.rotators.aws_iam import AwsIamAccessKeys
from incidents.services.playbook.rotators.base import RotationError
from incidents.services.playbook.rotators.postgresql_role import PostgresqlRole
from incidents.services.playbook.rotators.redis_acl import RedisAclUser
from incidents.services.playbook.secrets import AwsSecretsManagerStore, DatabaseSecretStore
from tests.playbook.services import (aws_environ, moto_server, pg_admin_dsn, pg_role, pg_scram,  # noqa: F401
                                     redis_admin_url, redis_user, rotator_context, run_rotator)

KEY = "secret-key-" + "n" * 40


def shown(caplog, summary, rotator, ctx, errors) -> str:
    """Everything of a rotation that can reach a person or a log."""
    texts = [caplog.text, *(r.getMessage() for r in caplog.records), summary, repr(rotator),
             repr(ctx.checkpoint.get("plan")), repr(ctx.checkpoint), repr(ctx.secrets)]
    for error in errors:
        texts += [error.message, repr(error), "".join(traceback.format_exception(error))]
    return "\n".join(texts)


def refused(rotator, ctx) -> RotationError:
    with pytest.raises(RotationError) as error:
        rotator.plan(ctx)
    return error.value


@pytest.fixture
def all_logs(caplog):
    # Every logger at DEBUG, as a worker started with DEBUG logging would be (Vigil holds
    # botocore, which logs whole responses at DEBUG, at INFO).
    caplog.set_level(logging.DEBUG)
    logging.getLogger("botocore").setLevel(logging.NOTSET)
    return caplog


def test_aws_keys_never_shown(aws_environ, moto_server, all_logs):
    iam = boto3.client("iam")
    iam.create_user(UserName="deploy-bot")
    old = iam.create_access_key(UserName="deploy-bot")["AccessKey"]
    all_logs.clear()  # what the test's own boto3 client logged is not Vigil's
    rotator = AwsIamAccessKeys()
    ctx = rotator_context(config={"users": ["deploy-bot"]}, environ=aws_environ,
                          secrets=AwsSecretsManagerStore(aws_environ))
    summary = run_rotator(rotator, ctx)
    new = ctx.secrets.get("vigil/breach/aws/deploy-bot")

    errors = [refused(rotator, rotator_context(config={"users": ["ghost"]}, environ=aws_environ,
                                               secrets=ctx.secrets))]
    moto_server.enforce_auth(True)
    try:
        errors.append(refused(rotator, ctx))
    finally:
        moto_server.enforce_auth(False)

    text = shown(all_logs, summary, rotator, ctx, errors)
    for secret in (new["secret_access_key"], old["SecretAccessKey"], aws_environ["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in text
    # A key id is no secret (the checkpoint keeps it to resume), but people see only its last four.
    assert new["access_key_id"] not in all_logs.text + summary


def test_postgresql_passwords_never_shown(session, clock, pg_admin_dsn, pg_role, all_logs):
    role, old = pg_role
    admin_dsn = f"{pg_admin_dsn}?password=admin-password-never-shown"  # the server trusts the admin
    rotator = PostgresqlRole()
    ctx = rotator_context(config={"role": role, "dsn_env": "PG_ADMIN"}, environ={"PG_ADMIN": admin_dsn},
                          secrets=DatabaseSecretStore(session, KEY), session=session)
    summary = run_rotator(rotator, ctx)
    new = ctx.secrets.get(f"vigil/breach/postgresql/{role}")["password"]

    wrong = pg_admin_dsn.replace("postgres@", f"{role}:{old}-wrong@", 1)
    errors = [refused(rotator, rotator_context(config={"role": "vigil_no_such_role", "dsn_env": "PG_ADMIN"},
                                               environ={"PG_ADMIN": admin_dsn}, secrets=ctx.secrets)),
              refused(rotator, rotator_context(config={"role": role, "dsn_env": "PG_ADMIN"},
                                               environ={"PG_ADMIN": wrong}, secrets=ctx.secrets)),
              refused(rotator, rotator_context(config={"role": role, "dsn_env": "PG_ADMIN"},
                                               environ={"PG_ADMIN": "host=x password=bad-dsn-secret port"},
                                               secrets=ctx.secrets))]

    text = shown(all_logs, summary, rotator, ctx, errors)
    for secret in (new, old, "admin-password-never-shown", "bad-dsn-secret"):
        assert secret not in text


def test_redis_passwords_never_shown(session, clock, redis_admin_url, redis_user, all_logs):
    user, old = redis_user
    rotator = RedisAclUser()
    ctx = rotator_context(config={"user": user, "url_env": "REDIS_ADMIN"}, environ={"REDIS_ADMIN": redis_admin_url},
                          secrets=DatabaseSecretStore(session, KEY), session=session)
    summary = run_rotator(rotator, ctx)
    new = ctx.secrets.get(f"vigil/breach/redis/{user}")["password"]

    wrong = redis_admin_url.replace("redis://", f"redis://{user}:{old}-wrong@", 1)
    errors = [refused(rotator, rotator_context(config={"user": "vigil_test_user_nobody", "url_env": "REDIS_ADMIN"},
                                               environ={"REDIS_ADMIN": redis_admin_url}, secrets=ctx.secrets)),
              refused(rotator, rotator_context(config={"user": user, "url_env": "REDIS_ADMIN"},
                                               environ={"REDIS_ADMIN": wrong}, secrets=ctx.secrets))]

    text = shown(all_logs, summary, rotator, ctx, errors)
    for secret in (new, old):
        assert secret not in text
