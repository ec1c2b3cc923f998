"""`vigil apply` with a breach_playbook section: stored normalised, applying twice changes nothing,
and every mistake refused with its path in the file (nothing stored)."""
from __future__ import annotations

import re

from incidents.models import Setting
from tests.test_apply import SAMPLE, summary, vigil, write  # noqa: F401

USERS = "users: [{email: lee@ops.example, name: Lee Mensah, role: admin}]\n"
PLAYBOOK = USERS + """
breach_playbook:
  notify_customers: affected
  subject: "Security notice about {service}"
  template: "Dear {customer}: {summary}. We are {actions}."
  auto_start: true
  rotate:
    - {type: vigil_api_keys}
    - {type: aws_iam_access_keys, users: [deploy-bot, ci-bot]}
    - {type: postgresql_role, role: app_rw, dsn_env: BREACH_PG_ADMIN_DSN, secret_store: aws_secrets_manager}
    - {type: redis_acl_user, user: app, url_env: BREACH_REDIS_ADMIN_URL}
  drill:
    recipients: [Lee@Ops.Example]
    targets:
      aws_iam_access_keys: {users: [drill-bot]}
      postgresql_role: {role: drill_rw, dsn_env: DRILL_PG_ADMIN_DSN}
      redis_acl_user: {user: drill, url_env: DRILL_REDIS_ADMIN_URL}
"""


def stored(session):
    session.rollback()
    row = session.get(Setting, "breach_playbook")
    return row.value if row is not None else None


def errors(result) -> list[str]:
    return [line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_the_sample_file_stores_the_playbook_and_a_second_apply_changes_nothing(vigil, session):
    first = vigil(str(SAMPLE))
    again = vigil(str(SAMPLE))

    assert (summary(first)["breach_playbook"], summary(again)["breach_playbook"]) == ("1 created", "1 unchanged")
    playbook = stored(session)
    assert {k: playbook[k] for k in ("notify_customers", "subject", "auto_start", "secret_store")} == {
        "notify_customers": "all", "subject": "Security incident notice", "auto_start": False,
        "secret_store": "vigil"}
    assert playbook["template"].startswith("We are writing to tell you about a security incident affecting {service}.")
    # Only Vigil's own credentials: the sample's run needs nothing from the environment.
    assert [entry["type"] for entry in playbook["rotate"]] == [
        "vigil_api_keys", "vigil_integration_keys", "user_sessions"]
    assert playbook["drill"] == {"every": "quarter", "recipients": ["lee@ops.example"], "targets": {}}
    assert first.stderr == ""


def test_the_samples_commented_out_rotations_and_drill_targets_apply_once_uncommented(vigil, write, session):
    text = re.sub(r"^( +)# (- \{type: |targets: |  \w+: \{)", r"\1\2", SAMPLE.read_text(), flags=re.MULTILINE)
    result = vigil(write(text))

    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # each external rotation has its drill target
    playbook = stored(session)
    assert [entry["type"] for entry in playbook["rotate"]][3:] == [
        "aws_iam_access_keys", "postgresql_role", "redis_acl_user"]
    assert playbook["rotate"][3] == {"type": "aws_iam_access_keys", "users": ["deploy-bot"],
                                     "secret_store": "aws_secrets_manager"}
    assert set(playbook["drill"]["targets"]) == {"aws_iam_access_keys", "postgresql_role", "redis_acl_user"}


def test_every_field_is_stored_normalised_and_a_change_is_an_update(vigil, write, session):
    result = vigil(write(PLAYBOOK))

    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # every external kind has a drill target: no warning
    playbook = stored(session)
    assert (playbook["notify_customers"], playbook["auto_start"], playbook["subject"]) == (
        "affected", True, "Security notice about {service}")
    assert playbook["rotate"][2] == {"type": "postgresql_role", "role": "app_rw", "dsn_env": "BREACH_PG_ADMIN_DSN",
                                     "secret_store": "aws_secrets_manager"}
    assert playbook["drill"] == {"every": "quarter", "recipients": ["lee@ops.example"], "targets": {
        "aws_iam_access_keys": {"users": ["drill-bot"]},
        "postgresql_role": {"role": "drill_rw", "dsn_env": "DRILL_PG_ADMIN_DSN"},
        "redis_acl_user": {"user": "drill", "url_env": "DRILL_REDIS_ADMIN_URL"}}}

    changed = vigil(write(PLAYBOOK.replace("notify_customers: affected", "notify_customers: all")))
    assert summary(changed)["breach_playbook"] == "1 updated"
    assert stored(session)["notify_customers"] == "all"


def test_mistakes_are_refused_with_their_paths_and_nothing_is_stored(vigil, write, session):
    result = vigil(write(USERS + """
        breach_playbook:
          notify_customers: everyone
          template: "Dear {name}, {summary"
          subject: ""
          auto_start: yes please
          secret_store: vault
          rotate:
            - {type: vigil_api_keys}
            - {type: vigil_api_keys}
            - {type: gcp_service_account}
            - {role: app_rw}
            - {type: postgresql_role, role: app_rw}
            - {type: redis_acl_user, user: app, url_env: "redis://default:hunter2@cache:6379/0"}
            - {type: aws_iam_access_keys, users: []}
            - {type: user_sessions, users: [x]}
    """.replace("\n        ", "\n")))

    assert result.exit_code == 1
    assert errors(result) == [
        "breach_playbook.notify_customers: invalid 'everyone'; expected one of all, affected",
        "breach_playbook.template: not a valid template (expected '}' before end of string); "
        "write a literal brace as {{ or }}",
        "breach_playbook.subject: expected text, got text",
        "breach_playbook.auto_start: expected true or false, got text",
        "breach_playbook.secret_store: invalid 'vault'; expected one of vigil, aws_secrets_manager",
        "breach_playbook.rotate[2].type: invalid 'gcp_service_account'; expected one of vigil_api_keys, "
        "vigil_integration_keys, user_sessions, aws_iam_access_keys, postgresql_role, redis_acl_user",
        "breach_playbook.rotate[3].type: required; one of vigil_api_keys, vigil_integration_keys, user_sessions, "
        "aws_iam_access_keys, postgresql_role, redis_acl_user",
        "breach_playbook.rotate[4].dsn_env: required",
        "breach_playbook.rotate[5].url_env: this looks like a connection string; give the name of an environment "
        "variable that holds it (like BREACH_PG_ADMIN_DSN) and set that variable for the worker: "
        "never put secrets in vigil.yaml",
        "breach_playbook.rotate[6].users: empty; list at least one IAM user name",
        "breach_playbook.rotate[7].users: unknown key; user_sessions takes no fields besides its type",
        "breach_playbook.rotate[1]: the same rotation as breach_playbook.rotate[0]; list each credential once",
    ]
    assert "hunter2" not in result.stderr  # a connection string written by mistake is not echoed
    assert stored(session) is None


def test_drill_mistakes_are_refused_with_their_paths(vigil, write, session):
    result = vigil(write(USERS + """
        breach_playbook:
          template: "{summary}"
          rotate: [{type: postgresql_role, role: app_rw, dsn_env: BREACH_PG_ADMIN_DSN}]
          drill:
            every: month
            recipients: [lee@ops.example, nobody@ops.example, not-an-address]
            targets:
              vigil_api_keys: {}
              gcp_service_account: {name: drill}
              postgresql_role: {role: drill_rw, dsn_env: "postgresql://postgres:pw@db/postgres"}
              redis_acl_user: {user: drill}
    """.replace("\n        ", "\n")))

    assert result.exit_code == 1
    assert errors(result) == [
        "breach_playbook.drill.every: invalid 'month'; expected one of quarter",
        "breach_playbook.drill.recipients[2]: invalid 'not-an-address'; expected an e-mail address",
        "breach_playbook.drill.targets.vigil_api_keys: Vigil's own credentials have no drill target: in a drill "
        "that step only says what it would do",
        "breach_playbook.drill.targets.gcp_service_account: unknown key; expected one of aws_iam_access_keys, "
        "postgresql_role, redis_acl_user",
        "breach_playbook.drill.targets.postgresql_role.dsn_env: this looks like a connection string; give the name "
        "of an environment variable that holds it (like BREACH_PG_ADMIN_DSN) and set that variable for the "
        "worker: never put secrets in vigil.yaml",
        "breach_playbook.drill.targets.redis_acl_user.url_env: required",
        "breach_playbook.drill.recipients[1]: unknown user 'nobody@ops.example'",
    ]
    assert stored(session) is None


def test_drill_recipients_may_be_users_stored_before(vigil, write, make, session):
    make.user("ana@ops.example")

    result = vigil(write("""
        breach_playbook:
          template: "{summary}"
          drill: {recipients: [ana@ops.example]}
    """))

    assert result.exit_code == 0, result.output
    assert stored(session)["drill"]["recipients"] == ["ana@ops.example"]
    assert stored(session)["rotate"] == []
