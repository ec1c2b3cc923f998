"""Revoke and regenerate Vigil's own keys: API keys and integration keys.

Each key is replaced in one transaction: the new key, the old one revoked (it stops working at
once), the audit rows and the new plaintext sealed in a RevealedSecret row that an admin sees once.
So a crash leaves a key either replaced or untouched; a resumed step tells which from the database
(an old API key already revoked; an integration with this step's sealed key) and does the rest.
In drill mode nothing changes: the plan is the report.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.domain import playbook as rules
from incidents.models import ApiKey, Integration, RevealedSecret, Service
from incidents.services import api_keys, audit, integrations
from incidents.services.actor import Actor
from incidents.services.errors import Conflict, NotFound, ServiceError
from incidents.services.keys import hash_key
from incidents.services.playbook.rotators.base import Context, RotationError
from incidents.services.sealed import SealError, seal, unseal

WHERE = audit.Where("system")  # the playbook's worker acts for the admin who started the run
WAITING = "new keys are waiting to be shown to an admin"


class ApiKeys:
    kind = rules.VIGIL_API_KEYS

    def plan(self, ctx: Context) -> dict[str, Any]:
        rows = ctx.session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.id))
        return {"keys": [{"id": k.id, "name": k.name, "scope": k.scope, "hint": k.key_hint,
                          "customer": k.customer.slug if k.customer else None} for k in rows]}

    def apply(self, ctx: Context, plan: dict[str, Any]) -> None:
        if ctx.drill:
            return
        secret_key = _secret_key(ctx)
        replaced = dict(ctx.checkpoint.get("replaced") or {})
        for key in plan["keys"]:
            old = _locked(ctx.session, ApiKey, key["id"])
            if old is None or old.revoked_at is not None:  # replaced before a crash, or by someone else
                continue
            replaced[str(old.id)] = _replace_api_key(ctx, old, secret_key)
            _commit(ctx, replaced=replaced)

    def verify(self, ctx: Context, plan: dict[str, Any]) -> str:
        n = len(plan["keys"])
        if ctx.drill:
            return f"drill: would revoke and regenerate {_keys(n, 'API key')} (nothing changed)"
        for key in plan["keys"]:
            old = ctx.session.get(ApiKey, key["id"])
            if old is not None and old.revoked_at is None:
                raise RotationError(f"API key {key['name']!r} (…{key['hint']}) still works.")
        done = ctx.checkpoint.get("replaced") or {}
        for entry in done.values():
            new = ctx.session.get(ApiKey, entry["new"])
            if new is None or new.revoked_at is not None:
                raise RotationError(f"The new API key {entry['name']!r} is missing or revoked.")
            _check_sealed(ctx, entry["secret"], new.key_hash)
        if not n:
            return "No API keys to rotate"
        others = n - len(done)
        return (f"{_keys(len(done), 'API key')} revoked and regenerated; {WAITING}"
                + (f"; {others} revoked meanwhile by someone else, not regenerated" if others else ""))


def _replace_api_key(ctx: Context, old: ApiKey, secret_key: str) -> dict[str, Any]:
    actor = Actor(ctx.actor)
    customer = old.customer.slug if old.customer else None
    try:
        new, plaintext = api_keys.create(ctx.session, name=old.name, scope=old.scope, customer=customer,
                                         actor=actor, where=WHERE)
        api_keys.revoke(ctx.session, key_id=old.id, actor=actor, where=WHERE)
    except ServiceError as exc:  # the runner rolls back what this key's replacement had written
        raise RotationError(f"API key {old.name!r}: {exc.message}") from None
    label = f"API key '{old.name}' ({old.scope}" + (f", customer {customer})" if customer else ")")
    secret = _keep(ctx, label, plaintext, secret_key)
    return {"new": new.id, "secret": secret.id, "name": old.name}


class IntegrationKeys:
    kind = rules.VIGIL_INTEGRATION_KEYS

    def plan(self, ctx: Context) -> dict[str, Any]:
        rows = ctx.session.execute(select(Integration, Service.name).join(Service)
                                   .where(Integration.revoked_at.is_(None)).order_by(Service.name, Integration.name))
        return {"integrations": [{"id": i.id, "service": service, "name": i.name, "type": i.type,
                                  "hint": i.key_hint} for i, service in rows]}

    def apply(self, ctx: Context, plan: dict[str, Any]) -> None:
        if ctx.drill:
            return
        secret_key = _secret_key(ctx)
        for entry in plan["integrations"]:
            label = _integration_label(entry)
            row = _locked(ctx.session, Integration, entry["id"])
            if row is None or row.revoked_at is not None or _sealed(ctx, label) is not None:
                continue  # gone, revoked meanwhile, or rotated by this step before a crash
            try:
                _, plaintext = integrations.rotate_key(ctx.session, service_name=entry["service"],
                                                       name=entry["name"], actor=Actor(ctx.actor), where=WHERE)
            except NotFound:  # renamed since the plan: it is not the integration we planned
                continue
            _keep(ctx, label, plaintext, secret_key)
            _commit(ctx, rotated=ctx.checkpoint.get("rotated", 0) + 1)

    def verify(self, ctx: Context, plan: dict[str, Any]) -> str:
        n = len(plan["integrations"])
        if ctx.drill:
            return f"drill: would revoke and regenerate {_keys(n, 'integration key')} (nothing changed)"
        done = 0
        for entry in plan["integrations"]:
            row, secret = ctx.session.get(Integration, entry["id"]), _sealed(ctx, _integration_label(entry))
            if row is None or row.revoked_at is not None:
                continue
            if secret is None:
                raise RotationError(f"Integration {entry['service']}/{entry['name']} still has its old key.")
            _check_sealed(ctx, secret.id, row.key_hash)
            done += 1
        if not n:
            return "No integration keys to rotate"
        others = n - done
        return (f"{_keys(done, 'integration key')} revoked and regenerated; {WAITING}"
                + (f"; {others} removed or revoked meanwhile, not regenerated" if others else ""))


def _locked(session: Session, model: type, row_id: int):
    """The row as it is now, locked until the commit (its joined relations are not locked: PostgreSQL
    refuses FOR UPDATE on an outer join's nullable side)."""
    return session.scalars(select(model).where(model.id == row_id).with_for_update(of=model)
                           .execution_options(populate_existing=True)).first()


def _integration_label(entry: dict[str, Any]) -> str:
    return f"Integration key {entry['service']}/{entry['name']} ({entry['type']})"


# --- sealed keys --------------------------------------------------------------------------------

def _secret_key(ctx: Context) -> str:
    secret_key = ctx.extensions.get("secret_key")
    if not secret_key:
        raise RotationError("SECRET_KEY is not available to seal the new keys; nothing was changed.")
    return secret_key


def _keep(ctx: Context, label: str, plaintext: str, secret_key: str) -> RevealedSecret:
    row = RevealedSecret(run_id=ctx.run_id, step_id=ctx.step_id, label=label[:300],
                         ciphertext=seal(secret_key, plaintext), created_at=ctx.now())
    ctx.session.add(row)
    ctx.session.flush()
    return row


def _sealed(ctx: Context, label: str) -> RevealedSecret | None:
    return ctx.session.scalars(select(RevealedSecret).where(
        RevealedSecret.step_id == ctx.step_id, RevealedSecret.label == label[:300])).first()


def _check_sealed(ctx: Context, secret_id: int, key_hash: str) -> None:
    """The key waiting to be shown is the one in force (once shown, its row no longer says)."""
    secret = ctx.session.get(RevealedSecret, secret_id)
    if secret is None:
        raise RotationError("A new key waiting to be shown is missing.")
    if secret.ciphertext is None:
        return
    try:
        matches = hash_key(unseal(_secret_key(ctx), secret.ciphertext)) == key_hash
    except SealError:
        matches = False
    if not matches:
        raise RotationError(f"{secret.label}: the key waiting to be shown is not the one in force.")


def _commit(ctx: Context, **progress: Any) -> None:
    ctx.save(**progress)  # the runner commits the session: the replacement and this record together
    ctx.session.commit()


def _keys(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


# --- showing a new key once -----------------------------------------------------------------------

def reveal(session: Session, *, secret_id: int, actor: Actor, where: audit.Where, now: datetime,
           secret_key: str) -> tuple[str, str]:
    """(label, plaintext) of a new key, once: its ciphertext is wiped and the showing audited.
    The caller commits (and shows the key only after the commit succeeded)."""
    row = session.scalars(select(RevealedSecret).where(RevealedSecret.id == secret_id).with_for_update()
                          .execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound(f"There is no new key {secret_id}.")
    if row.ciphertext is None:
        raise Conflict(f"{row.label} was already shown, to {row.revealed_by} at {row.revealed_at:%Y-%m-%d %H:%M} "
                       "UTC; if it was lost, rotate that key again.")
    try:
        plaintext = unseal(secret_key, row.ciphertext)
    except SealError as exc:
        raise Conflict(f"{row.label}: {exc}") from None
    row.ciphertext, row.revealed_at, row.revealed_by = None, now, actor.label
    audit.record(session, actor=actor, where=where, action="playbook.reveal_key", target=row.label, now=now,
                 details={"secret_id": row.id, "run_id": row.run_id})
    return row.label, plaintext
