"""Where a rotation keeps the credentials it makes, before they come into force: Vigil's own table
(values sealed under SECRET_KEY) or AWS Secrets Manager. A step's `secret_store` overrides the
playbook's; the default is Vigil's table.

Neither store ever puts a value in a log, an error message or its repr.
"""
from __future__ import annotations

import json
import logging
import secrets as pysecrets
from typing import Any, Mapping

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError
from sqlalchemy.orm import Session

from incidents import clock
from incidents.models.playbook import StoredSecret
from incidents.services import sealed
from incidents.services.playbook.rotators.base import RotationError, SecretStore

VIGIL = "vigil"
AWS_SECRETS_MANAGER = "aws_secrets_manager"

# botocore's own names for the per-service endpoint variables (AWS_ENDPOINT_URL_<SERVICE>).
_ENDPOINT_SUFFIX = {"iam": "IAM", "sts": "STS", "secretsmanager": "SECRETS_MANAGER"}


def store_for(step_config: Mapping[str, Any], playbook: Mapping[str, Any], environ: Mapping[str, str],
              secret_key: str, session: Session) -> SecretStore:
    """The store a step writes its new credentials to."""
    kind = step_config.get("secret_store") or playbook.get("secret_store") or VIGIL
    if kind == VIGIL:
        return DatabaseSecretStore(session, secret_key)
    if kind == AWS_SECRETS_MANAGER:
        return AwsSecretsManagerStore(environ)
    raise RotationError(f"unknown secret store '{kind}' (use '{VIGIL}' or '{AWS_SECRETS_MANAGER}')")


def store(ctx: Any) -> SecretStore:
    """The context's store; a step never makes a credential it has nowhere to keep."""
    if ctx.secrets is None:
        raise RotationError("no secret store to keep the new credentials in; nothing was changed")
    return ctx.secrets


class DatabaseSecretStore:
    """StoredSecret rows, sealed with a key derived from SECRET_KEY. `put` flushes; the caller's
    next commit (ctx.save) makes it durable, which a rotator does before the secret is used."""

    def __init__(self, session: Session, secret_key: str):
        self._session = session
        self._secret_key = secret_key

    def __repr__(self) -> str:
        return "DatabaseSecretStore()"

    def put(self, name: str, value: dict[str, str]) -> None:
        ciphertext = sealed.seal(self._secret_key, json.dumps(value, sort_keys=True))
        row = self._session.get(StoredSecret, name)
        if row is None:
            self._session.add(StoredSecret(name=name, ciphertext=ciphertext, version=1, updated_at=clock.now()))
        else:
            row.ciphertext = ciphertext
            row.version += 1
            row.updated_at = clock.now()
        self._session.flush()

    def get(self, name: str) -> dict[str, str] | None:
        row = self._session.get(StoredSecret, name)
        if row is None:
            return None
        try:
            return json.loads(sealed.unseal(self._secret_key, row.ciphertext))
        except sealed.SealError:
            raise RotationError(f"the stored secret '{name}' cannot be opened with this SECRET_KEY") from None


class AwsSecretsManagerStore:
    """AWS Secrets Manager: one secret per name holding the value as a JSON string; a second put
    adds a new version (AWSCURRENT moves to it)."""

    def __init__(self, environ: Mapping[str, str]):
        self._client = aws_client("secretsmanager", environ)

    def __repr__(self) -> str:
        return "AwsSecretsManagerStore()"

    def put(self, name: str, value: dict[str, str]) -> None:
        body = json.dumps(value, sort_keys=True)
        try:
            try:
                self._client.create_secret(Name=name, SecretString=body,
                                           Description="Written by Vigil's breach playbook")
            except ClientError as exc:
                if aws_error_code(exc) != "ResourceExistsException":
                    raise
                self._client.put_secret_value(SecretId=name, SecretString=body)
        except (ClientError, BotoCoreError) as exc:
            raise aws_rotation_error(exc, f"AWS Secrets Manager could not store '{name}'") from None

    def get(self, name: str) -> dict[str, str] | None:
        try:
            answer = self._client.get_secret_value(SecretId=name)
        except ClientError as exc:
            if aws_error_code(exc) == "ResourceNotFoundException":
                return None
            raise aws_rotation_error(exc, f"AWS Secrets Manager could not read '{name}'") from None
        except BotoCoreError as exc:
            raise aws_rotation_error(exc, f"AWS Secrets Manager could not read '{name}'") from None
        return json.loads(answer["SecretString"])


# -- AWS helpers shared with the IAM rotator --------------------------------------------------------

def new_password(ctx: Any, name: str, owner: dict[str, str]) -> dict[str, str]:
    """`owner` (e.g. {"role": "app_rw"}) with its new password: the one an earlier attempt of this
    step stored, or a fresh one, stored and committed before anything uses it (so a crash never
    leaves a password in force that nobody kept)."""
    value = store(ctx).get(name) if ctx.checkpoint.get("stored") else None
    if not value or any(value.get(k) != v for k, v in owner.items()):
        value = {**owner, "password": pysecrets.token_urlsafe(32)}
        store(ctx).put(name, value)
        ctx.save(stored=True)
    return value


def aws_client(service: str, environ: Mapping[str, str], *, access_key_id: str | None = None,
               secret_access_key: str | None = None) -> Any:
    """A boto3 client configured from `environ` the way boto3 reads the process environment:
    AWS_ENDPOINT_URL[_<SERVICE>] (moto or a VPC endpoint), AWS_DEFAULT_REGION / AWS_REGION and the
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN credentials; other credential
    sources (profiles, instance roles) are left to boto3. Explicit keys (a new key under test)
    replace all of those."""
    endpoint = environ.get(f"AWS_ENDPOINT_URL_{_ENDPOINT_SUFFIX.get(service, service.upper())}") \
        or environ.get("AWS_ENDPOINT_URL")
    region = environ.get("AWS_DEFAULT_REGION") or environ.get("AWS_REGION")
    if region is None and service in ("iam", "sts"):
        region = "us-east-1"  # IAM is global; STS answers there too
    if access_key_id is not None:
        credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key,
                       "aws_session_token": None}
    else:
        credentials = {"aws_access_key_id": environ.get("AWS_ACCESS_KEY_ID"),
                       "aws_secret_access_key": environ.get("AWS_SECRET_ACCESS_KEY"),
                       "aws_session_token": environ.get("AWS_SESSION_TOKEN")}
    _quiet_botocore()
    try:
        session = boto3.session.Session(region_name=region, **credentials)
        return session.client(service, endpoint_url=endpoint or None,
                              config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"},
                                                connect_timeout=10, read_timeout=30))
    except NoRegionError:
        raise RotationError(f"no AWS region for {service}: set AWS_DEFAULT_REGION") from None


def _quiet_botocore() -> None:
    """botocore logs whole requests and responses at DEBUG, new secret keys included: a worker
    run with DEBUG logging must not write them out. Someone who sets botocore's level on purpose
    (after this) still gets what they asked for."""
    logger = logging.getLogger("botocore")
    if logger.level == logging.NOTSET or logger.level < logging.INFO:
        logger.setLevel(logging.INFO)


def aws_error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "unknown error")
    return type(exc).__name__


CREDENTIAL_ERRORS = {"InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
                     "AccessDenied", "AccessDeniedException", "ExpiredToken", "ExpiredTokenException",
                     "InvalidAccessKeyId", "AuthFailure", "MissingAuthenticationToken"}


def aws_rotation_error(exc: Exception, doing: str) -> RotationError:
    """A plain RotationError for a boto3/botocore failure: the error code, never AWS's message
    (which can quote a request)."""
    if isinstance(exc, NoCredentialsError):
        return RotationError("no AWS credentials for Vigil: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                             "or give the worker an instance role")
    code = aws_error_code(exc)
    if code.isdigit():  # an error body botocore could not read (moto answers JSON services in XML)
        code = f"HTTP {code}"
    if code in CREDENTIAL_ERRORS or code in ("HTTP 401", "HTTP 403"):
        return RotationError(f"AWS refused Vigil's credentials: {code}")
    if isinstance(exc, BotoCoreError):
        return RotationError(f"{doing}: cannot reach AWS ({code})")
    return RotationError(f"{doing}: {code}")
