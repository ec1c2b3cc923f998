"""aws_iam_access_keys: a new access key for each configured IAM user, stored, proven, and the old
keys deleted.

Order per user, each side effect followed at once by a checkpoint: create the new key, store it
(the secret store is the only place its secret ever lives), save its id; verify signs a request
with it, then deactivates and deletes the old keys and proves AWS no longer knows them.

A crash between `create_access_key` and the checkpoint leaves a key nobody has the secret of (an
orphan): on resume, any key that is neither one of the old keys from the plan nor the saved new
one is deleted and a key is made again. IAM allows two keys per user, so a user who already has
two keys (and none is our orphan) is refused at plan time with a clear message.
"""
from __future__ import annotations

import logging
import secrets as pysecrets
import time
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from incidents.services.playbook.rotators.base import Context, RotationError
from incidents.services.playbook.secrets import aws_client, aws_error_code, aws_rotation_error, store

log = logging.getLogger(__name__)

KEYS_PER_USER = 2  # IAM's limit
# A new key takes a few seconds to work everywhere in AWS, a deleted one a few seconds to stop:
# ask again with these pauses before calling it a failure.
PROPAGATION_WAITS = (1, 2, 4, 8, 15)


def secret_name(user: str) -> str:
    return f"vigil/breach/aws/{user}"


def tail(key_id: str) -> str:
    """The last four characters of a key id: enough to recognise it, in summaries and logs."""
    return "…" + key_id[-4:]


class AwsIamAccessKeys:
    kind = "aws_iam_access_keys"

    def __init__(self, sleep: Callable[[float], None] = time.sleep, waits: tuple[float, ...] = PROPAGATION_WAITS):
        self._sleep = sleep
        self._waits = waits

    def __repr__(self) -> str:
        return "AwsIamAccessKeys()"

    # -- plan -----------------------------------------------------------------------------------

    def plan(self, ctx: Context) -> dict[str, Any]:
        users = ctx.config.get("users") or []
        if not users or not all(isinstance(u, str) and u for u in users):
            raise RotationError("aws_iam_access_keys needs a list of IAM user names under 'users'")
        iam = aws_client("iam", ctx.environ)
        earlier = (ctx.checkpoint.get("plan") or {}).get("users", {})
        planned = {}
        for user in users:
            planned[user] = self._plan_user(iam, user, earlier.get(user), _new_keys(ctx).get(user))
        return {"users": planned}

    def _plan_user(self, iam: Any, user: str, earlier: dict | None, new_id: str | None) -> dict[str, Any]:
        arn = _call(lambda: iam.get_user(UserName=user)["User"]["Arn"], user, "read")
        keys = _list_keys(iam, user)
        if earlier is not None:  # planned before a crash: the old keys are the ones seen then
            return {"arn": arn, "old_keys": earlier["old_keys"]}
        old = [k for k in keys if k != new_id]  # our own new key, saved before a crash, is not old
        if len(old) >= KEYS_PER_USER:
            raise RotationError(f"IAM user '{user}' already has {len(old)} access keys, the most AWS allows; "
                                "delete the one no longer in use, then retry this step")
        return {"arn": arn, "old_keys": old}

    # -- apply ----------------------------------------------------------------------------------

    def apply(self, ctx: Context, plan: dict[str, Any]) -> None:
        iam = aws_client("iam", ctx.environ)
        for user, planned in plan["users"].items():
            self._apply_user(ctx, iam, user, planned["old_keys"])

    def _apply_user(self, ctx: Context, iam: Any, user: str, old_keys: list[str]) -> None:
        saved = _new_keys(ctx).get(user)
        for key_id in _list_keys(iam, user):
            if key_id in old_keys or key_id == saved:
                continue
            log.warning("deleting orphan access key %s of IAM user %s (made before a crash, never stored)",
                        tail(key_id), user)
            _delete_key(iam, user, key_id)
        if saved is not None and saved in _list_keys(iam, user):
            return  # made and stored before: nothing to do
        created = _call(lambda: iam.create_access_key(UserName=user)["AccessKey"], user, "create a key for")
        key_id = created["AccessKeyId"]
        try:
            store(ctx).put(secret_name(user), {"access_key_id": key_id,
                                                "secret_access_key": created["SecretAccessKey"]})
        except Exception:
            _delete_key(iam, user, key_id)  # its secret is lost with this frame: the key is useless
            raise
        ctx.save(new_keys={**_new_keys(ctx), user: key_id})
        log.info("IAM user %s: new access key %s stored as %s", user, tail(key_id), secret_name(user))

    # -- verify ---------------------------------------------------------------------------------

    def verify(self, ctx: Context, plan: dict[str, Any]) -> str:
        iam = aws_client("iam", ctx.environ)
        lines = []
        for user, planned in plan["users"].items():
            lines.append(self._verify_user(ctx, iam, user, planned))
            ctx.save(verified=[*ctx.checkpoint.get("verified", []), user])  # renews the step's lease
        return ". ".join(lines)

    def _verify_user(self, ctx: Context, iam: Any, user: str, planned: dict[str, Any]) -> str:
        new_id = _new_keys(ctx).get(user)
        stored = store(ctx).get(secret_name(user)) if new_id else None
        if not stored or stored.get("access_key_id") != new_id:
            raise RotationError(f"the secret store does not hold IAM user '{user}''s new key; retry this step")
        self._until(lambda: self._answers_as(ctx, new_id, stored["secret_access_key"]) == planned["arn"],
                    f"the new key {tail(new_id)} of IAM user '{user}' does not authenticate as the user")
        old_keys = [k for k in planned["old_keys"] if k != new_id]
        for key_id in old_keys:
            _deactivate_and_delete(iam, user, key_id)
        left = _list_keys(iam, user)
        if left != [new_id]:
            raise RotationError(f"IAM user '{user}' still has {len(left)} access keys after the rotation")
        for key_id in old_keys:
            self._until(lambda: not self._still_known(ctx, key_id, planned["arn"]),
                        f"the old key {tail(key_id)} of IAM user '{user}' still authenticates")
        count = len(old_keys)
        return f"{user}: new key {tail(new_id)} verified; {count} old key{'' if count == 1 else 's'} deleted"

    def _answers_as(self, ctx: Context, key_id: str, secret: str) -> str | None:
        """The ARN STS names for a request signed with this key, or None if AWS refuses it."""
        sts = aws_client("sts", ctx.environ, access_key_id=key_id, secret_access_key=secret)
        try:
            return sts.get_caller_identity()["Arn"]
        except ClientError:
            return None
        except BotoCoreError as exc:
            raise aws_rotation_error(exc, "STS") from None

    def _still_known(self, ctx: Context, key_id: str, arn: str) -> bool:
        """Whether AWS still accepts `key_id` as the user's. We never had the old secret, so we sign
        with a made-up one: AWS answers InvalidClientTokenId for a key id it does not know and
        SignatureDoesNotMatch for one it does. (moto does not check signatures unless its auth is
        switched on: it answers a default identity for an unknown key and the user's ARN for a
        known one, which this reads the same way.)"""
        sts = aws_client("sts", ctx.environ, access_key_id=key_id, secret_access_key=pysecrets.token_urlsafe(30))
        try:
            return sts.get_caller_identity()["Arn"] == arn
        except ClientError as exc:
            return aws_error_code(exc) != "InvalidClientTokenId"
        except BotoCoreError as exc:
            raise aws_rotation_error(exc, "STS") from None

    def _until(self, check: Callable[[], bool], failure: str) -> None:
        if check():
            return
        for wait in self._waits:
            self._sleep(wait)
            if check():
                return
        raise RotationError(failure)


def _new_keys(ctx: Context) -> dict[str, str]:
    return dict(ctx.checkpoint.get("new_keys") or {})


def _call(fn: Callable[[], Any], user: str, doing: str) -> Any:
    try:
        return fn()
    except ClientError as exc:
        if aws_error_code(exc) == "NoSuchEntity":
            raise RotationError(f"IAM user '{user}' does not exist") from None
        raise aws_rotation_error(exc, f"AWS could not {doing} IAM user '{user}'") from None
    except BotoCoreError as exc:
        raise aws_rotation_error(exc, f"AWS could not {doing} IAM user '{user}'") from None


def _list_keys(iam: Any, user: str) -> list[str]:
    answer = _call(lambda: iam.list_access_keys(UserName=user), user, "list the keys of")
    return sorted(k["AccessKeyId"] for k in answer["AccessKeyMetadata"])


def _delete_key(iam: Any, user: str, key_id: str) -> None:
    try:
        iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    except ClientError as exc:
        if aws_error_code(exc) != "NoSuchEntity":  # gone already: what we wanted
            raise aws_rotation_error(exc, f"AWS could not delete key {tail(key_id)} of IAM user '{user}'") from None
    except BotoCoreError as exc:
        raise aws_rotation_error(exc, f"AWS could not delete key {tail(key_id)} of IAM user '{user}'") from None


def _deactivate_and_delete(iam: Any, user: str, key_id: str) -> None:
    """Inactive first, as AWS advises, so a key is dead even if the delete then fails."""
    try:
        iam.update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
    except ClientError as exc:
        if aws_error_code(exc) == "NoSuchEntity":
            return
        raise aws_rotation_error(exc, f"AWS could not deactivate key {tail(key_id)} of IAM user '{user}'") from None
    except BotoCoreError as exc:
        raise aws_rotation_error(exc, f"AWS could not deactivate key {tail(key_id)} of IAM user '{user}'") from None
    _delete_key(iam, user, key_id)
    log.info("IAM user %s: old access key %s deactivated and deleted", user, tail(key_id))
