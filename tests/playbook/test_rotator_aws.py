"""aws_iam_access_keys against moto's server mode on loopback, boto3 pointed at it by
AWS_ENDPOINT_URL: new key stored in Secrets Manager and proven, old keys deleted, a crash in the
middle resumed with exactly one key left, and bad input refused with a plain message."""
from __future__ import annotations

import json

import boto3
import pytest

from incidents.services.playbook.rotators.aws_iam import AwsIamAccessKeys
from incidents.services.playbook.rotators.base import RotationError
from incidents.services.playbook.secrets import AwsSecretsManagerStore
from tests.playbook.services import aws_environ, moto_server, rotator_context, run_rotator  # noqa: F401


class WorkerDied(Exception):
    pass


def iam():
    return boto3.client("iam")


def user_with_keys(name: str, count: int = 1) -> list[dict]:
    iam().create_user(UserName=name)
    return [iam().create_access_key(UserName=name)["AccessKey"] for _ in range(count)]


def key_ids(user: str) -> list[str]:
    return sorted(k["AccessKeyId"] for k in iam().list_access_keys(UserName=user)["AccessKeyMetadata"])


def stored(name: str) -> dict:
    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])


def identity(key_id: str, secret: str) -> str:
    sts = boto3.client("sts", aws_access_key_id=key_id, aws_secret_access_key=secret)
    return sts.get_caller_identity()["Arn"]


def context(environ, users, checkpoint=None, save=None):
    ctx = rotator_context(config={"users": users}, environ=environ, secrets=AwsSecretsManagerStore(environ),
                          checkpoint=checkpoint)
    if save is not None:
        ctx._save = save
    return ctx


def test_new_key_stored_in_secrets_manager_proven_and_old_key_deleted(aws_environ):
    old = user_with_keys("deploy-bot")[0]
    user_with_keys("backup-bot")
    arn = iam().get_user(UserName="deploy-bot")["User"]["Arn"]

    summary = run_rotator(AwsIamAccessKeys(), context(aws_environ, ["deploy-bot", "backup-bot"]))

    new = stored("vigil/breach/aws/deploy-bot")
    assert key_ids("deploy-bot") == [new["access_key_id"]] != [old["AccessKeyId"]]
    assert identity(new["access_key_id"], new["secret_access_key"]) == arn
    # moto does not check keys unless its auth is on: an unknown key gets a default identity,
    # not the user's, which is what Vigil's own check relies on there.
    assert identity(old["AccessKeyId"], old["SecretAccessKey"]) != arn
    assert summary.startswith(f"deploy-bot: new key …{new['access_key_id'][-4:]} verified; 1 old key deleted")
    assert "backup-bot: new key …" in summary
    assert new["secret_access_key"] not in summary


def test_crash_between_create_and_save_resumes_with_exactly_one_key(aws_environ):
    user_with_keys("deploy-bot")
    persisted: dict = {}

    def dies_when_the_new_key_is_saved(checkpoint):
        if "new_keys" in checkpoint:
            raise WorkerDied()
        persisted.update(checkpoint)

    rotator = AwsIamAccessKeys()
    ctx = context(aws_environ, ["deploy-bot"], save=dies_when_the_new_key_is_saved)
    plan = rotator.plan(ctx)
    ctx.save(plan=plan)
    with pytest.raises(WorkerDied):
        rotator.apply(ctx, plan)  # key made and stored, its id never saved: an orphan
    assert len(key_ids("deploy-bot")) == 2

    resumed = context(aws_environ, ["deploy-bot"], checkpoint=json.loads(json.dumps(persisted)))
    rotator.apply(resumed, plan)
    rotator.apply(resumed, plan)  # a second resume does nothing more
    summary = rotator.verify(resumed, plan)

    new_id = resumed.checkpoint["new_keys"]["deploy-bot"]
    assert key_ids("deploy-bot") == [new_id]
    assert stored("vigil/breach/aws/deploy-bot")["access_key_id"] == new_id
    assert summary == f"deploy-bot: new key …{new_id[-4:]} verified; 1 old key deleted"


def test_an_orphan_left_by_a_crash_is_deleted_even_when_it_fills_the_user(aws_environ):
    user_with_keys("deploy-bot")
    rotator = AwsIamAccessKeys()
    ctx = context(aws_environ, ["deploy-bot"])
    plan = rotator.plan(ctx)
    ctx.save(plan=plan)
    orphan = iam().create_access_key(UserName="deploy-bot")["AccessKey"]["AccessKeyId"]  # made, never saved

    assert rotator.plan(ctx) == plan  # a re-plan keeps the old keys it saw first, not the orphan
    rotator.apply(ctx, plan)
    rotator.apply(ctx, plan)
    rotator.verify(ctx, plan)

    assert key_ids("deploy-bot") == [ctx.checkpoint["new_keys"]["deploy-bot"]]
    assert orphan not in key_ids("deploy-bot")


def test_a_second_verify_after_a_crash_reports_the_same(aws_environ):
    user_with_keys("deploy-bot")
    rotator = AwsIamAccessKeys()
    ctx = context(aws_environ, ["deploy-bot"])
    first = run_rotator(rotator, ctx)
    assert rotator.verify(ctx, ctx.checkpoint["plan"]) == first


def test_a_user_who_already_has_two_keys_is_refused_before_anything_changes(aws_environ):
    keys = user_with_keys("deploy-bot", count=2)
    with pytest.raises(RotationError) as error:
        AwsIamAccessKeys().plan(context(aws_environ, ["deploy-bot"]))
    assert "IAM user 'deploy-bot' already has 2 access keys, the most AWS allows" in error.value.message
    assert key_ids("deploy-bot") == sorted(k["AccessKeyId"] for k in keys)


def test_an_unknown_user_is_refused_by_name(aws_environ):
    user_with_keys("deploy-bot")
    with pytest.raises(RotationError) as error:
        AwsIamAccessKeys().plan(context(aws_environ, ["deploy-bot", "ghost-bot"]))
    assert error.value.message == "IAM user 'ghost-bot' does not exist"
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_no_users_configured_is_refused(aws_environ):
    with pytest.raises(RotationError, match="needs a list of IAM user names"):
        AwsIamAccessKeys().plan(context(aws_environ, []))


def test_wrong_credentials_are_refused_with_the_aws_error_code(aws_environ, moto_server):
    user_with_keys("deploy-bot")
    moto_server.enforce_auth(True)  # from now on moto checks keys like AWS does
    try:
        with pytest.raises(RotationError) as error:
            AwsIamAccessKeys().plan(context(aws_environ, ["deploy-bot"]))
    finally:
        moto_server.enforce_auth(False)
    assert error.value.message == "AWS refused Vigil's credentials: InvalidClientTokenId"
    assert aws_environ["AWS_SECRET_ACCESS_KEY"] not in error.value.message
