"""The `breach_playbook` section: who is told, with what words, which credentials are rotated in
which order, and what a drill runs against. Stored normalised (Setting "breach_playbook") for
incidents.services.playbook; the shape is in that package's steps.py and runs.py.

Connections to what is rotated are named by environment variables (dsn_env, url_env): their
values hold admin passwords, and vigil.yaml is not a place for secrets.
"""
from __future__ import annotations

import re
from typing import Any

from incidents.domain import playbook as rules
from incidents.services.apply import fields
from incidents.services.apply.fields import Keys, Problems

TOP = Keys(optional=("notify_customers", "template", "subject", "auto_start", "secret_store", "rotate", "drill"))
DRILL = Keys(optional=("every", "recipients", "targets"))
SECRET_STORES = ("vigil", "aws_secrets_manager")
DEFAULT_SUBJECT = "Security incident notice"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IAM_USER = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")  # AWS's own rule for IAM user names
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")  # a PostgreSQL role or a Redis user name
SECRET_HINT = "never put secrets in vigil.yaml"
# The fields of each kind's entry (the same for a drill target, without `type`).
KIND_FIELDS: dict[str, Keys] = {
    rules.VIGIL_API_KEYS: Keys(),
    rules.VIGIL_INTEGRATION_KEYS: Keys(),
    rules.USER_SESSIONS: Keys(),
    rules.AWS_IAM_ACCESS_KEYS: Keys(required=("users",), optional=("secret_store",)),
    rules.POSTGRESQL_ROLE: Keys(required=("role", "dsn_env"), optional=("secret_store",)),
    rules.REDIS_ACL_USER: Keys(required=("user", "url_env"), optional=("secret_store",)),
}


def parse_breach_playbook(p: Problems, path: str, value: Any) -> dict[str, Any] | None:
    raw = fields.mapping(p, path, value, TOP, what="a mapping (notify_customers, template, rotate, drill)")
    if raw is None:
        return None
    notify = raw.get("notify_customers", "all")
    return {
        "notify_customers": fields.choice(p, fields.join(path, "notify_customers"), notify, rules.NOTIFY_SCOPES),
        "template": _template(p, fields.join(path, "template"), raw.get("template"), max_len=5000),
        "subject": _template(p, fields.join(path, "subject"), raw.get("subject", DEFAULT_SUBJECT), max_len=200),
        "auto_start": bool(fields.boolean(p, fields.join(path, "auto_start"), raw.get("auto_start"))),
        "secret_store": fields.choice(p, fields.join(path, "secret_store"), raw.get("secret_store", "vigil"),
                                      SECRET_STORES),
        "rotate": _rotate(p, fields.join(path, "rotate"), raw.get("rotate", [])),
        "drill": _drill(p, fields.join(path, "drill"), raw.get("drill", {}), raw.get("rotate")),
    }


def drill_recipients(playbook: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(path, e-mail) of each drill recipient, for the check that they are users."""
    if not playbook or not playbook.get("drill"):
        return []
    return [(f"breach_playbook.drill.recipients[{index}]", email)
            for index, email in enumerate(playbook["drill"]["recipients"]) if email]


def _template(p: Problems, path: str, value: Any, *, max_len: int) -> str | None:
    """Text whose placeholders are the notice's fields; a problem names the ones there are."""
    if value is None:
        p.error(path, "required")
        return None
    if not isinstance(value, str) or not value.strip():
        p.error(path, f"expected text, got {fields.describe(value)}")
        return None
    if len(value) > max_len:
        p.error(path, f"longer than {max_len} characters")
        return None
    for problem in rules.template_problems(value):
        p.error(path, problem)
    return value.strip()


def _rotate(p: Problems, path: str, value: Any) -> list[dict[str, Any]]:
    entries = []
    for where, item in fields.items(p, path, value):
        if not isinstance(item, dict):
            p.error(where, f"expected a mapping like {{type: vigil_api_keys}}, got {fields.describe(item)}")
            continue
        kind = fields.choice(p, fields.join(where, "type"), item.get("type"), rules.ROTATOR_KINDS)
        if item.get("type") is None:
            p.error(fields.join(where, "type"), f"required; one of {', '.join(rules.ROTATOR_KINDS)}")
        if kind is not None:
            rest = {k: v for k, v in item.items() if k != "type"}
            entries.append({"type": kind, **(_target(p, where, kind, rest) or {})})
    _no_repeats(p, path, entries)
    return entries


def _target(p: Problems, path: str, kind: str, value: Any) -> dict[str, Any] | None:
    """One kind's fields, checked: e.g. {users: [deploy-bot]} for aws_iam_access_keys."""
    if not KIND_FIELDS[kind].known and isinstance(value, dict):
        for key in value:
            p.error(fields.join(path, key), f"unknown key; {kind} takes no fields besides its type")
        return {}
    raw = fields.mapping(p, path, value, KIND_FIELDS[kind])
    if raw is None:
        return None
    entry: dict[str, Any] = {}
    if "users" in raw:
        entry["users"] = _names(p, fields.join(path, "users"), raw["users"], IAM_USER, "IAM user name")
    if "role" in raw:
        entry["role"] = fields.text(p, fields.join(path, "role"), raw["role"], max_len=63, pattern=IDENTIFIER,
                                    hint="expected a PostgreSQL role name")
    if "user" in raw:
        entry["user"] = fields.text(p, fields.join(path, "user"), raw["user"], max_len=63, pattern=IDENTIFIER,
                                    hint="expected a Redis ACL user name")
    for name in ("dsn_env", "url_env"):
        if name in raw:
            entry[name] = _env_name(p, fields.join(path, name), raw[name])
    if "secret_store" in raw:
        entry["secret_store"] = fields.choice(p, fields.join(path, "secret_store"), raw["secret_store"],
                                              SECRET_STORES)
    return entry


def _env_name(p: Problems, path: str, value: Any) -> str | None:
    """The NAME of an environment variable; a URL or DSN written here is refused, saying why."""
    if not isinstance(value, str) or not value.strip():
        p.error(path, f"expected the name of an environment variable, got {fields.describe(value)}")
        return None
    name = value.strip()
    if ENV_NAME.match(name):
        return name
    if "://" in name or "@" in name or "=" in name or " " in name:
        p.error(path, "this looks like a connection string; give the name of an environment variable that "
                      f"holds it (like BREACH_PG_ADMIN_DSN) and set that variable for the worker: {SECRET_HINT}")
    else:
        p.error(path, f"invalid environment variable name {name!r}; letters, digits and _ (like BREACH_PG_ADMIN_DSN)")
    return None


def _names(p: Problems, path: str, value: Any, pattern: re.Pattern, what: str) -> list[str]:
    if isinstance(value, list) and not value:
        p.error(path, f"empty; list at least one {what}")
    names = [fields.text(p, where, item, max_len=64, pattern=pattern, hint=f"expected an {what}")
             for where, item in fields.items(p, path, value)]
    fields.unique(p, [(f"{path}[{i}]", n) for i, n in enumerate(names)], what)
    return [name for name in names if name]


def _no_repeats(p: Problems, path: str, entries: list[dict[str, Any]]) -> None:
    """The same kind twice against the same target would rotate one credential twice in a run."""
    keys = [(f"{path}[{i}]", repr(sorted((k, str(v)) for k, v in e.items() if k != "secret_store")))
            for i, e in enumerate(entries)]
    first: dict[str, str] = {}
    for where, key in keys:
        if key in first:
            p.error(where, f"the same rotation as {first[key]}; list each credential once")
        first.setdefault(key, where)


def _drill(p: Problems, path: str, value: Any, rotate: Any) -> dict[str, Any] | None:
    raw = fields.mapping(p, path, value, DRILL, what="a mapping (every, recipients, targets)")
    if raw is None:
        return None
    every = fields.choice(p, fields.join(path, "every"), raw.get("every", "quarter"), ("quarter",))
    recipients = [fields.email(p, where, item) for where, item in
                  fields.items(p, fields.join(path, "recipients"), raw.get("recipients", []))]
    fields.unique(p, [(f"{path}.recipients[{i}]", e) for i, e in enumerate(recipients)], "recipient")
    return {"every": every, "recipients": [e for e in recipients if e],
            "targets": _targets(p, fields.join(path, "targets"), raw.get("targets", {}), rotate)}


def _targets(p: Problems, path: str, value: Any, rotate: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        for kind in [kind for kind in value if kind in rules.INTERNAL_KINDS]:
            p.error(fields.join(path, kind), "Vigil's own credentials have no drill target: in a drill that "
                                             "step only says what it would do")
        value = {kind: entry for kind, entry in value.items() if kind not in rules.INTERNAL_KINDS}
    raw = fields.mapping(p, path, value, Keys(optional=rules.EXTERNAL_KINDS),
                         what="a mapping of rotation type to its drill target") or {}
    targets = {kind: _target(p, fields.join(path, kind), kind, entry) or {} for kind, entry in raw.items()}
    listed = {entry.get("type") for entry in rotate or [] if isinstance(entry, dict)}
    missing = [kind for kind in rules.EXTERNAL_KINDS if kind in listed and kind not in targets]
    if missing:
        p.warn(path, f"no drill target for {', '.join(missing)}; drills skip "
                     f"{'that step' if len(missing) == 1 else 'those steps'}")
    return targets
