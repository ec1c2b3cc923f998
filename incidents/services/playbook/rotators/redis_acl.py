"""redis_acl_user: a new password for a Redis ACL user, stored first, set with
`ACL SETUSER <user> resetpass ><new>`, proven by AUTH.

`resetpass` drops every password of the user (and `nopass`) and nothing else: its on/off flag, key
patterns, channels and commands stay as they were, and verify checks that they did. Connects as the
admin whose URL is in the environment variable `url_env`. Checkpoints and resume as in
postgresql_role: "stored", then "altered".

Why the old password is dead once verify passes: the user's only password (ACL GETUSER lists their
SHA-256 hashes) is the new one, AUTH with it works and AUTH with a made-up one is refused.
"""
from __future__ import annotations

import hashlib
import logging
import secrets as pysecrets
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

from incidents.services.playbook.rotators.base import Context, RotationError
from incidents.services.playbook.secrets import new_password, store

log = logging.getLogger(__name__)

TIMEOUT = 10
RULES = ("flags", "keys", "channels", "commands", "selectors", "categories")


def secret_name(user: str) -> str:
    return f"vigil/breach/redis/{user}"


class RedisAclUser:
    kind = "redis_acl_user"

    def __repr__(self) -> str:
        return "RedisAclUser()"

    def plan(self, ctx: Context) -> dict[str, Any]:
        user = _user(ctx)
        with _admin(ctx) as admin:
            found = _call(lambda: admin.acl_getuser(user), ctx, "ACL GETUSER")
        if found is None:
            raise RotationError(f"Redis ACL user '{user}' does not exist")
        return {"user": user, "rules": _rules(found)}

    def apply(self, ctx: Context, plan: dict[str, Any]) -> None:
        if ctx.checkpoint.get("altered"):
            return
        user = plan["user"]
        value = new_password(ctx, secret_name(user), {"user": user})
        with _admin(ctx) as admin:
            _call(lambda: admin.execute_command("ACL", "SETUSER", user, "resetpass", ">" + value["password"]),
                  ctx, "ACL SETUSER")
            persisted = _persist(admin, ctx)
        ctx.save(altered=True, persisted=persisted)
        log.info("Redis ACL user %s: new password set (stored as %s)", user, secret_name(user))

    def verify(self, ctx: Context, plan: dict[str, Any]) -> str:
        user = plan["user"]
        value = store(ctx).get(secret_name(user))
        if not value or value.get("user") != user:
            raise RotationError(f"the secret store does not hold Redis user '{user}''s new password; retry this step")
        with _admin(ctx) as admin:
            found = _call(lambda: admin.acl_getuser(user), ctx, "ACL GETUSER")
        if found is None:
            raise RotationError(f"Redis ACL user '{user}' no longer exists")
        if list(found.get("passwords") or []) != [hashlib.sha256(value["password"].encode()).hexdigest()]:
            raise RotationError(f"Redis user '{user}' has passwords other than the new one")
        if _rules(found) != plan["rules"]:
            raise RotationError(f"Redis user '{user}''s rules changed during the rotation; check them with ACL GETUSER")
        enabled = "on" in plan["rules"]["flags"]
        if enabled and not _auth(ctx, user, value["password"]):
            raise RotationError(f"Redis user '{user}' cannot AUTH with its new password")
        if _auth(ctx, user, pysecrets.token_urlsafe(32)):
            raise RotationError(f"Redis let user '{user}' AUTH with a made-up password")
        how = "verified by AUTH" if enabled else "set (the user is off, so it cannot AUTH)"
        return f"{user}: new password {how}; the old one is refused{_persist_note(ctx)}"


def _user(ctx: Context) -> str:
    user = ctx.config.get("user")
    if not isinstance(user, str) or not user:
        raise RotationError("redis_acl_user needs the ACL user's name under 'user'")
    return user


def _url(ctx: Context) -> str:
    name = ctx.config.get("url_env")
    if not isinstance(name, str) or not name:
        raise RotationError("redis_acl_user needs 'url_env': the environment variable with the admin Redis URL")
    url = ctx.environ.get(name)
    if not url:
        raise RotationError(f"the environment variable {name} is not set (the admin URL for Redis)")
    return url


def _admin(ctx: Context) -> redis.Redis:
    try:
        return redis.Redis.from_url(_url(ctx), socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    except ValueError:
        raise RotationError(f"the URL in {ctx.config['url_env']} is not a Redis URL") from None


def _call(fn: Any, ctx: Context, doing: str) -> Any:
    """Run a Redis command; its errors become plain words (a reply can quote the arguments)."""
    name = ctx.config.get("url_env")
    try:
        return fn()
    except redis.AuthenticationError:
        raise RotationError(f"Redis refused Vigil's credentials in {name}") from None
    except (redis.ConnectionError, redis.TimeoutError):
        raise RotationError(f"cannot reach Redis at the address in {name}") from None
    except redis.ResponseError as exc:
        reason = "permission denied" if isinstance(exc, redis.exceptions.NoPermissionError) else "refused"
        raise RotationError(f"Redis {doing} failed: {reason}") from None
    except redis.RedisError as exc:
        raise RotationError(f"Redis {doing} failed ({type(exc).__name__})") from None


def _rules(found: dict[str, Any]) -> dict[str, list[str]]:
    """The user's rules as ACL GETUSER lists them, without passwords (or nopass, which resetpass drops)."""
    rules = {key: sorted(str(v) for v in found.get(key) or []) for key in RULES}
    rules["flags"] = [f for f in rules["flags"] if f != "nopass"]
    return rules


def _auth(ctx: Context, user: str, password: str) -> bool:
    """A fresh connection to the admin's server (database 0: AUTH does not depend on it) that
    authenticates as `user` before anything else."""
    parts = urlsplit(_url(ctx))
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], path=""))
    client = None
    try:  # a single-connection client connects (and sends AUTH) when it is made
        client = redis.Redis.from_url(bare, username=user, password=password, socket_timeout=TIMEOUT,
                                      socket_connect_timeout=TIMEOUT, single_connection_client=True)
        return bool(client.ping())
    except redis.exceptions.NoPermissionError:
        return True  # logged in; the user may just not run PING
    except redis.AuthenticationError:
        return False  # wrong password, or the user is off
    except redis.ResponseError as exc:
        return "WRONGPASS" not in str(exc) and "NOAUTH" not in str(exc)
    except (redis.ConnectionError, redis.TimeoutError):
        raise RotationError(f"cannot reach Redis at the address in {ctx.config.get('url_env')}") from None
    finally:
        if client is not None:
            client.close()


def _persist(admin: redis.Redis, ctx: Context) -> str:
    """ACL SETUSER changes memory only: with an ACL file, write it so a restart keeps the new
    password. Without one (users in redis.conf) that is left to whoever manages redis.conf."""
    try:
        aclfile = admin.config_get("aclfile").get("aclfile")
    except redis.RedisError:
        return "unknown"  # CONFIG may be denied to the admin user
    if not aclfile:
        return "no aclfile"
    _call(lambda: admin.acl_save(), ctx, "ACL SAVE")
    return "aclfile"


def _persist_note(ctx: Context) -> str:
    persisted = ctx.checkpoint.get("persisted")
    if persisted == "aclfile":
        return "; saved to the ACL file"
    return ("; Redis has no ACL file, so put the new password where the user is defined (redis.conf) "
            "or a restart brings the old one back" if persisted == "no aclfile" else "")
