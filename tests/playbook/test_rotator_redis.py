"""redis_acl_user against the real local Redis: the new password is stored, AUTH works with it and
not with the old one, the user's other rules stay; bad input is refused with a plain message.
Test users carry a unique prefix and are deleted afterwards; the default user is never touched."""
from __future__ import annotations

import pytest
import redis

from incidents.models.playbook import StoredSecret
from incidents.services.playbook.rotators.base import RotationError
from incidents.services.playbook.rotators.redis_acl import RedisAclUser
from incidents.services.playbook.secrets import DatabaseSecretStore
from tests.playbook.services import redis_admin_url, redis_user, rotator_context, run_rotator  # noqa: F401

KEY = "secret-key-" + "r" * 40
ENV = "VIGIL_TEST_REDIS_ADMIN"


class WorkerDied(Exception):
    pass


def context(session, url, user, checkpoint=None):
    return rotator_context(config={"user": user, "url_env": ENV}, environ={ENV: url},
                           secrets=DatabaseSecretStore(session, KEY), session=session, checkpoint=checkpoint)


def auth(url, user, password) -> bool:
    client = redis.Redis.from_url(url, single_connection_client=True)
    try:
        client.execute_command("AUTH", user, password)
        return True
    except (redis.AuthenticationError, redis.ResponseError):
        return False
    finally:
        client.close()


def stored_password(session, user) -> str:
    return DatabaseSecretStore(session, KEY).get(f"vigil/breach/redis/{user}")["password"]


def test_new_password_authenticates_the_old_is_refused_and_the_rules_stay(session, clock, redis_admin_url,
                                                                          redis_user):
    user, old = redis_user
    admin = redis.Redis.from_url(redis_admin_url)
    before = admin.acl_getuser(user)
    assert auth(redis_admin_url, user, old)

    summary = run_rotator(RedisAclUser(), context(session, redis_admin_url, user))

    new = stored_password(session, user)
    assert auth(redis_admin_url, user, new)
    assert not auth(redis_admin_url, user, old)
    after = admin.acl_getuser(user)
    assert {k: v for k, v in after.items() if k != "passwords"} == {k: v for k, v in before.items() if k != "passwords"}
    assert summary.startswith(f"{user}: new password verified by AUTH; the old one is refused")
    assert new not in summary


def test_a_crash_after_storing_sets_the_stored_password_not_another(session, clock, redis_admin_url, redis_user):
    user, old = redis_user
    persisted: dict = {}

    def dies_after_storing(checkpoint):
        session.commit()
        persisted.update(checkpoint)
        if checkpoint.get("stored") and not checkpoint.get("altered"):
            raise WorkerDied()

    rotator = RedisAclUser()
    ctx = context(session, redis_admin_url, user)
    ctx._save = dies_after_storing
    plan = rotator.plan(ctx)
    ctx.save(plan=plan)
    with pytest.raises(WorkerDied):
        rotator.apply(ctx, plan)
    assert auth(redis_admin_url, user, old)

    resumed = context(session, redis_admin_url, user, checkpoint=dict(persisted))
    rotator.apply(resumed, plan)
    rotator.apply(resumed, plan)
    rotator.verify(resumed, plan)

    assert session.get(StoredSecret, f"vigil/breach/redis/{user}").version == 1
    assert auth(redis_admin_url, user, stored_password(session, user))
    assert not auth(redis_admin_url, user, old)


def test_a_user_that_is_off_keeps_off(session, clock, redis_admin_url, redis_user):
    user, old = redis_user
    admin = redis.Redis.from_url(redis_admin_url)
    admin.execute_command("ACL", "SETUSER", user, "off")

    summary = run_rotator(RedisAclUser(), context(session, redis_admin_url, user))

    assert "off" in admin.acl_getuser(user)["flags"]
    assert f"{user}: new password set (the user is off, so it cannot AUTH)" in summary


def test_a_missing_user_is_refused_by_name(session, redis_admin_url):
    with pytest.raises(RotationError) as error:
        RedisAclUser().plan(context(session, redis_admin_url, "vigil_test_user_nobody"))
    assert error.value.message == "Redis ACL user 'vigil_test_user_nobody' does not exist"


def test_a_missing_admin_variable_is_named(session):
    ctx = rotator_context(config={"user": "app", "url_env": "APP_REDIS_ADMIN"}, environ={},
                          secrets=DatabaseSecretStore(session, KEY), session=session)
    with pytest.raises(RotationError) as error:
        RedisAclUser().plan(ctx)
    assert error.value.message == "the environment variable APP_REDIS_ADMIN is not set (the admin URL for Redis)"


def test_wrong_admin_credentials_are_refused_without_showing_them(session, redis_admin_url, redis_user):
    user, old = redis_user
    url = redis_admin_url.replace("redis://", f"redis://{user}:wrong-{old}@", 1)
    with pytest.raises(RotationError) as error:
        RedisAclUser().plan(context(session, url, user))
    assert error.value.message == f"Redis refused Vigil's credentials in {ENV}"
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_an_admin_without_acl_rights_is_refused_plainly(session, redis_admin_url, redis_user):
    user, old = redis_user  # may GET and SET, not ACL
    url = redis_admin_url.replace("redis://", f"redis://{user}:{old}@", 1)
    with pytest.raises(RotationError) as error:
        RedisAclUser().plan(context(session, url, user))
    assert error.value.message == "Redis ACL GETUSER failed: permission denied"
