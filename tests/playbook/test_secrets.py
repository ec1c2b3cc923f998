"""Secret stores: Vigil's own sealed table and AWS Secrets Manager (moto's server on loopback); a
step's `secret_store` wins over the playbook's."""
from __future__ import annotations

import json

import boto3
import pytest

from incidents.models.playbook import StoredSecret
from incidents.services.playbook.rotators.base import RotationError
from incidents.services.playbook.secrets import AwsSecretsManagerStore, DatabaseSecretStore, store_for
from tests.playbook.services import aws_environ, moto_server  # noqa: F401

KEY = "secret-key-" + "k" * 40
VALUE = {"role": "app", "password": "correct-horse-battery-staple-123"}


def test_the_database_store_seals_values_and_bumps_the_version(session, clock):
    store = DatabaseSecretStore(session, KEY)
    store.put("vigil/breach/postgresql/app", VALUE)
    session.commit()
    row = session.get(StoredSecret, "vigil/breach/postgresql/app")
    assert row.version == 1 and VALUE["password"] not in row.ciphertext

    store.put("vigil/breach/postgresql/app", {**VALUE, "password": "the-next-one"})
    session.commit()
    session.expire_all()
    assert session.get(StoredSecret, "vigil/breach/postgresql/app").version == 2
    assert store.get("vigil/breach/postgresql/app") == {**VALUE, "password": "the-next-one"}
    assert store.get("vigil/breach/postgresql/nobody") is None
    assert KEY not in repr(store)


def test_a_database_secret_sealed_under_another_key_is_refused_plainly(session, clock):
    DatabaseSecretStore(session, KEY).put("vigil/x", VALUE)
    session.commit()
    with pytest.raises(RotationError) as error:
        DatabaseSecretStore(session, "another-key-" + "z" * 40).get("vigil/x")
    assert error.value.message == "the stored secret 'vigil/x' cannot be opened with this SECRET_KEY"


def test_aws_secrets_manager_creates_then_adds_versions(aws_environ):
    store = AwsSecretsManagerStore(aws_environ)
    assert store.get("vigil/breach/aws/deploy-bot") is None
    store.put("vigil/breach/aws/deploy-bot", {"access_key_id": "AKIA1", "secret_access_key": "s1"})
    store.put("vigil/breach/aws/deploy-bot", {"access_key_id": "AKIA2", "secret_access_key": "s2"})

    assert store.get("vigil/breach/aws/deploy-bot") == {"access_key_id": "AKIA2", "secret_access_key": "s2"}
    client = boto3.client("secretsmanager", region_name="eu-west-1")
    answer = client.get_secret_value(SecretId="vigil/breach/aws/deploy-bot")
    assert json.loads(answer["SecretString"])["access_key_id"] == "AKIA2"
    versions = client.list_secret_version_ids(SecretId="vigil/breach/aws/deploy-bot")["Versions"]
    assert len(versions) == 2
    assert "AKIA" not in repr(store) and aws_environ["AWS_SECRET_ACCESS_KEY"] not in repr(store)


def test_aws_secrets_manager_refusing_credentials_is_a_plain_error(aws_environ, moto_server):
    store = AwsSecretsManagerStore(aws_environ)
    moto_server.enforce_auth(True)
    try:
        with pytest.raises(RotationError) as error:
            store.put("vigil/breach/aws/deploy-bot", {"access_key_id": "AKIA1", "secret_access_key": "s1"})
    finally:
        moto_server.enforce_auth(False)
    # Real AWS says UnrecognizedClientException; moto's error body for this JSON service is XML,
    # which botocore cannot read, so only the HTTP status is left.
    assert error.value.message in ("AWS refused Vigil's credentials: UnrecognizedClientException",
                                   "AWS refused Vigil's credentials: HTTP 403")


def test_the_step_store_wins_over_the_playbook_store(session, aws_environ):
    playbook = {"secret_store": "aws_secrets_manager"}
    assert isinstance(store_for({}, playbook, aws_environ, KEY, session), AwsSecretsManagerStore)
    assert isinstance(store_for({"secret_store": "vigil"}, playbook, aws_environ, KEY, session), DatabaseSecretStore)
    assert isinstance(store_for({}, {}, aws_environ, KEY, session), DatabaseSecretStore)
    assert isinstance(store_for({"secret_store": "aws_secrets_manager"}, {}, aws_environ, KEY, session),
                      AwsSecretsManagerStore)


def test_an_unknown_store_is_refused(session):
    with pytest.raises(RotationError, match="unknown secret store 'vault'"):
        store_for({"secret_store": "vault"}, {}, {}, KEY, session)
