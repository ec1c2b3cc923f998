"""The breach playbook survives its worker being killed: real processes, real targets.

The web (gunicorn) and the Celery worker (with beat) run as `vigil up` starts them, each in its own
process group, but started here one by one: `vigil up` stops the web as soon as its worker dies,
and this test kills the worker (SIGKILL to its whole group: the pool and beat go with it) and
starts another while the web keeps serving. Both run on the test's database and broker (embedded
by default, PostgreSQL + Redis when VIGIL_TEST_DATABASE_URL and VIGIL_TEST_BROKER_URL say so),
under libfaketime: a dead worker's step is taken over once its lease (5 minutes) has passed, so
after each kill the clock moves past it instead of the test waiting.

`vigil apply` loads customers (one contact with an invalid e-mail address), users, a breach rule,
a service and a breach_playbook that rotates Vigil's API and integration keys and sessions, an IAM
user's access key in moto's server (the new key kept in moto's Secrets Manager), a real PostgreSQL
role in the SCRAM group and a real Redis ACL user. A breach alert opens the incident; an admin key
starts the run. The SMTP sink takes 0.4 s per message, so the notices and the reset letters take
seconds: the worker is killed while customer notices are going out, and again while reset letters
are. The run still ends with every step done and every side effect once: nobody gets a notice
twice (a notice in flight at a kill is `uncertain`, the documented window), every old credential
is dead and its replacement is the one kept, and no new secret shows in a log, an API response or
the timeline.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import boto3
import psycopg
import pytest
import redis
import requests
from botocore.exceptions import ClientError
from sqlalchemy import select

from incidents.cli.up_cmd import ACCESS_LOG
from incidents.models import ApiKey, Integration, PlaybookNotice, PlaybookRun, PlaybookStep, RevealedSecret, User
from incidents.services import api_keys
from incidents.services.accounts import passwords
from incidents.services.keys import hash_key
from incidents.services.playbook import notify
from incidents.services.playbook.rotators import aws_iam, postgresql_role, redis_acl
from incidents.services.playbook.runner import LEASE
from incidents.services.playbook.secrets import DatabaseSecretStore
from incidents.services.sealed import unseal
from tests.e2e.conftest import free_port, http, log_tail, wait_until
from tests.e2e.test_paging_processes import BROKER, START_TIMEOUT, TICK, TICK_RAN, Vigil
from tests.e2e.test_sla_processes import MovableClock
from tests.fakes.fixtures import fake_twilio  # noqa: F401
from tests.fakes.twilio_server import FROM_NUMBER
from tests.playbook.services import (aws_environ, moto_server, pg_admin_dsn, pg_role, pg_scram,  # noqa: F401
                                     redis_admin_url, redis_user)

pytestmark = pytest.mark.e2e

SECRET_KEY = "e2e-playbook-secret-key-" + "k" * 32
MOVE = int(LEASE.total_seconds() // 60) + 1  # minutes: past a dead worker's lease
RUN_TIMEOUT = 60.0
IAM_USER = "deploy-bot"
INVALID = "pat@globex..example"
CONTACTS = {  # customer slug: [(name, e-mail, phone)]
    "acme": [("Dana Reyes", "dana@acme.example", "+15005550101"), ("Raj Patel", "raj@acme.example", "+15005550102"),
             ("Acme security desk", "security@acme.example", None)],
    "globex": [("Sam Ito", "sam@globex.example", "+15005550103"), ("Pat Moreau", INVALID, None),
               ("Globex on call", None, "+15005550104")],
    "initech": [("Bill Lumbergh", "bill@initech.example", "+15005550105"),
                ("Milton Waddams", "milton@initech.example", "+15005550106"),
                ("Peter Gibbons", "peter@initech.example", None)],
}
USERS = [("lee@ops.example", "Lee Mensah", "admin"), ("ana@ops.example", "Ana Silva", "ops_engineer"),
         ("ben@ops.example", "Ben Okafor", "ops_engineer"), ("cara@ops.example", "Cara Lind", "ops_engineer"),
         ("viv@ops.example", "Viv Amari", "viewer")]
API_KEYS = [("ops-admin", "admin", None), ("grafana", "read", None), ("acme-portal", "read", "acme")]
RESET_SUBJECT = "Vigil: choose a new password (security incident)"
RESET_LINK = re.compile(r"/reset/(\S+)")


def _vigil_yaml(pg_role_name: str, redis_user_name: str) -> str:
    def contact(name, email, phone):
        fields = [f"name: {name}"] + ([f"email: '{email}'"] if email else []) + ([f"phone: '{phone}'"] if phone else [])
        return "{" + ", ".join(fields) + "}"

    customers = "".join(f"  - slug: {slug}\n    name: {slug.title()}\n    contacts:\n"
                        + "".join(f"      - {contact(*c)}\n" for c in people) for slug, people in CONTACTS.items())
    users = "".join(f"  - {{email: {e}, name: {n}, role: {r}}}\n" for e, n, r in USERS)
    return f"""\
customers:
{customers}users:
{users}classification:
  - {{name: security breach, class: 1, category: security_breach, match: {{text_any: [breach, "unauthorized access"]}}}}
  - {{name: everything else, class: 3, category: defect, match: {{}}}}
services:
  - name: checkout
    customer: acme
    integrations:
      - {{name: scripts, type: generic}}
      - {{name: prometheus, type: alertmanager}}
breach_playbook:
  notify_customers: all
  template: "Dear {{customer}}: a security incident affects {{service}}. {{summary}}. We are {{actions}}."
  rotate:
    - {{type: vigil_api_keys}}
    - {{type: vigil_integration_keys}}
    - {{type: user_sessions}}
    - {{type: aws_iam_access_keys, users: [{IAM_USER}], secret_store: aws_secrets_manager}}
    - {{type: postgresql_role, role: {pg_role_name}, dsn_env: BREACH_PG_ADMIN_DSN}}
    - {{type: redis_acl_user, user: {redis_user_name}, url_env: BREACH_REDIS_ADMIN_URL}}
"""


# -- processes -------------------------------------------------------------------------------------

class Part(Vigil):
    """One of the two processes `vigil up` starts, in its own process group as there; `kill()`
    is the SIGKILL a dead machine amounts to, for the whole group."""

    def __init__(self, env: dict[str, str], cwd: Path, port: int, name: str, argv: list[str]):
        super().__init__(env, cwd, port)
        self.name, self.argv, self.log = name, argv, cwd / f"{name}.log"

    def start(self) -> "Part":
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env, cwd=self.cwd, start_new_session=True)
        return self

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        super().stop()
        try:  # whatever of the group outlived its leader
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def web_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "1",
            "--threads", "4", "--access-logfile", "-", "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
            "--logger-class", ACCESS_LOG]


def worker_argv(tmp: Path, n: int) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.main", "worker", "--beat", "--hostname", f"e2e-{n}@%h",
            "--schedule", str(tmp / f"celerybeat-schedule-{n}"), "--loglevel", "INFO", "--concurrency", "2"]


# -- the data and the processes --------------------------------------------------------------------

@pytest.fixture
def breach_vigil(app, database_url, session, fake_twilio, slow_smtp_sink, libfaketime, aws_environ, moto_server,
                 pg_admin_dsn, pg_role, redis_admin_url, redis_user, tmp_path):
    """vigil.yaml applied, the targets made, then the web and a first worker started. Yields the
    world the test drives; every log is printed at the end (pytest shows it on a failure)."""
    iam = boto3.client("iam")
    iam.create_user(UserName=IAM_USER)
    old_aws = iam.create_access_key(UserName=IAM_USER)["AccessKey"]
    clock = MovableClock(libfaketime, tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("CELERY_BROKER_URL", None)
    env.update({
        "DATABASE_URL": database_url, "VIGIL_INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": SECRET_KEY,
        "PUBLIC_URL": f"http://127.0.0.1:{port}", "ENGINE_TICK_SECONDS": str(TICK),
        "SMTP_URL": f"smtp://127.0.0.1:{slow_smtp_sink.port}?from=vigil@vigil.test",
        "TWILIO_ACCOUNT_SID": fake_twilio.account_sid, "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
        "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_URL": fake_twilio.url,
        "BREACH_PG_ADMIN_DSN": pg_admin_dsn, "BREACH_REDIS_ADMIN_URL": redis_admin_url, **aws_environ,
        **({"CELERY_BROKER_URL": BROKER} if BROKER else {}),
    })
    integrations = _apply(env, tmp_path, _vigil_yaml(pg_role[0], redis_user[0]))
    _passwords(session)
    old_keys = {name: api_key(session, name, scope, customer) for name, scope, customer in API_KEYS}
    env.update(clock.env())
    world = World(session=session, env=env, tmp=tmp_path, port=port, clock=clock, sink=slow_smtp_sink,
                  twilio=fake_twilio, integrations=integrations, old_keys=old_keys, old_aws=old_aws, pg_role=pg_role,
                  redis_user=redis_user, pg_dsn=pg_admin_dsn, redis_url=redis_admin_url, moto=moto_server)
    world.web = Part(env, tmp_path, port, "web", web_argv(port)).start()
    world.start_worker()
    try:
        yield world
    finally:
        moto_server.enforce_auth(False)
        for part in [world.web, *world.workers]:
            part.stop()
            print(f"--- {part.name} log ({part.log}) ---\n{log_tail(part.log, 120)}")


def _apply(env: dict[str, str], tmp: Path, text: str) -> dict[str, str]:
    """`vigil apply` as a person runs it; the integration keys it shows once, by name."""
    path = tmp / "vigil.yaml"
    path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "incidents.cli", "apply", str(path), "--output", "json"], env=env,
                          cwd=tmp, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"vigil apply failed:\n{done.stdout}\n{done.stderr}"
    return {i["name"]: i["key"] for i in json.loads(done.stdout)["integrations"]}


def _passwords(session) -> None:
    """Every user can sign in with a password (so each must choose a new one)."""
    hashed = passwords.hash_password("correct horse battery staple 42")
    for user in session.scalars(select(User)):
        user.password_hash = hashed
    session.commit()


def api_key(session, name: str, scope: str, customer: str | None = None) -> str:
    _, key = api_keys.create(session, name=name, scope=scope, customer=customer)
    session.commit()
    return key


class World:
    def __init__(self, **parts):
        self.__dict__.update(parts)
        self.workers: list[Part] = []
        self.secrets: list[str] = []  # the generated ones, found as the checks go
        self.api = Api(f"http://127.0.0.1:{self.port}", self.old_keys["ops-admin"])

    def start_worker(self) -> Part:
        n = len(self.workers) + 1
        worker = Part(self.env, self.tmp, self.port, f"worker-{n}", worker_argv(self.tmp, n)).start()
        self.workers.append(worker)
        return worker

    @property
    def worker(self) -> Part:
        return self.workers[-1]

    def alive(self) -> None:
        self.web.alive()
        self.worker.alive()

    def ready(self) -> bool:
        try:
            return self.api.http.get(f"{self.api.base}/readyz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet
            return False

    def notices(self) -> list:
        return [r for r in list(self.sink.received) if r.message["Subject"] != RESET_SUBJECT]

    def letters(self) -> list:
        return [r for r in list(self.sink.received) if r.message["Subject"] == RESET_SUBJECT]

    def run(self, run_id: int) -> dict:
        """The run as GET /api/v1/playbook-runs/{id} shows it. Once the playbook has revoked the
        admin's key, an admin key made after the rotation was planned (so not rotated) reads on."""
        r = self.api.call("GET", f"/api/v1/playbook-runs/{run_id}")
        if r.status_code == 401 and self.api.key == self.old_keys["ops-admin"]:
            self.api.key = api_key(self.session, "e2e-watcher", "admin")
            r = self.api.call("GET", f"/api/v1/playbook-runs/{run_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def kill_during(self, run_id: int, position: int, enough, what: str) -> None:
        """Once step `position` runs and `enough()` says it is well under way, SIGKILL the worker's
        group; then move the clock past its lease and start a new worker."""
        wait_until(lambda: self.alive() or self.run(run_id)["steps"][position - 1]["state"] == "running",
                   timeout=START_TIMEOUT, what=f"step {position} to run", describe=self.seen)
        wait_until(lambda: self.alive() or enough(), timeout=20, what=what, describe=self.seen, interval=0.01)
        self.worker.kill()
        step = self.run(run_id)["steps"][position - 1]
        assert step["state"] == "running" and step["finished_at"] is None, f"killed too late: {step}"
        print(f"killed {self.worker.name} during step {position} ({step['kind']}) after {what}")
        self.clock.move(minutes=MOVE * len(self.workers))
        self.start_worker()

    def logs(self) -> str:
        return "\n".join(p.log.read_text(errors="replace") for p in [self.web, *self.workers])

    def seen(self) -> str:
        return (f"{len(self.sink.received)} e-mails, {len(self.twilio.messages)} texts; worker log tail:\n"
                f"{log_tail(self.worker.log, 30)}")


class Api:
    """Vigil's HTTP API as the admin uses it; every answer is kept, to look for secrets in."""

    def __init__(self, base: str, key: str):
        self.base, self.key, self.http, self.answers = base, key, http(), []

    def call(self, method: str, path: str, key: str | None = None, **kwargs):
        r = self.http.request(method, self.base + path, headers={"Authorization": f"Bearer {key or self.key}"},
                              timeout=10, **kwargs)
        self.answers.append(r.text)
        return r

    def ok(self, method: str, path: str, status: int = 200, **kwargs) -> dict:
        r = self.call(method, path, **kwargs)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()


KINDS = ["notify_customers", "vigil_api_keys", "vigil_integration_keys", "user_sessions", "aws_iam_access_keys",
         "postgresql_role", "redis_acl_user"]


def test_a_killed_worker_resumes_the_run_with_every_side_effect_once(breach_vigil, session):
    w = breach_vigil
    wait_until(lambda: w.alive() or w.ready(), timeout=START_TIMEOUT, what="the web to be ready", describe=w.seen)
    wait_until(lambda: w.alive() or TICK_RAN.search(w.worker.log.read_text(errors="replace")),
               timeout=START_TIMEOUT, what="the worker to run the engine tick", describe=w.seen)

    alert = w.api.ok("POST", "/api/v1/alerts", 202, key=w.integrations["scripts"], json={
        "summary": "Unauthorized access to the customer database", "severity": "critical", "dedup_key": "breach"})
    incident_id = alert["alerts"][0]["incident_id"]
    incident = w.api.ok("GET", f"/api/v1/incidents/{incident_id}")
    assert (incident["category"], incident["severity_class"]) == ("security_breach", 1), incident
    run_id = w.api.ok("POST", f"/api/v1/incidents/{incident_id}/breach-playbook", 202, json={})["id"]

    w.kill_during(run_id, 1, lambda: len(w.notices()) >= 3, "3 customer notices were mailed")
    w.kill_during(run_id, 4, lambda: len(w.letters()) >= 2, "2 reset letters were mailed")
    final = wait_until(lambda: w.alive() or _finished(w.run(run_id)), timeout=RUN_TIMEOUT,
                       what="the run to finish", describe=w.seen)

    assert final["state"] == "done", final
    assert [(s["kind"], s["state"]) for s in final["steps"]] == [(kind, "done") for kind in KINDS], final["steps"]
    assert [s["attempts"] for s in final["steps"]] == [2, 1, 1, 2, 1, 1, 1], final["steps"]  # resumed after each kill
    assert len(final["keys_waiting"]) == len(API_KEYS) + len(w.integrations), final["keys_waiting"]  # shown once
    report = final["report"]
    assert all(step["seconds"] is not None for step in report["steps"]) and report["notify_all_seconds"], report
    print(f"report: {[(s['kind'], s['seconds']) for s in report['steps']]}, "
          f"notify_all_seconds {report['notify_all_seconds']}")

    session.rollback()  # read what the processes wrote
    _check_notices(w, session, run_id, report)
    _check_vigil_keys(w, session, run_id)
    _check_sessions(w, session)
    _check_aws(w)
    _check_data_stores(w, session)
    _check_no_secret_shown(w, session, run_id, incident_id)
    w.alive()


def _finished(run: dict) -> dict | None:
    return run if run["state"] in ("done", "failed") else None


def _check_notices(w: World, session, run_id: int, report: dict) -> None:
    """Each address got at most one notice; one exactly unless its notice was in flight at a kill
    (uncertain, at most one per kill in which notices were going out); the invalid one failed."""
    rows = session.scalars(select(PlaybookNotice).where(PlaybookNotice.run_id == run_id)).all()
    mailed = Counter(rcpt for r in w.notices() for rcpt in r.rcpt_tos)
    texted = Counter(m.to for m in list(w.twilio.messages))
    emails = {e for people in CONTACTS.values() for _, e, _ in people if e}
    phones = {p for people in CONTACTS.values() for _, _, p in people if p}
    notices = {(n.channel, n.address): n for n in rows if n.purpose == "customer_notice"}
    assert set(notices) == {("email", e) for e in emails} | {("sms", p) for p in phones}, sorted(notices)
    assert set(mailed) <= emails - {INVALID} and set(texted) <= phones, (mailed, texted)
    for (channel, address), notice in notices.items():
        got = (mailed if channel == "email" else texted).get(address, 0)
        if address == INVALID:
            assert (notice.state, got) == ("failed", 0) and notice.reason.startswith("invalid address"), notice.reason
        else:
            assert got == 1 and notice.state == "sent" or got <= 1 and notice.state == "uncertain", (address, got)
    letters = {n.address: n for n in rows if n.purpose == "password_reset"}
    got_letters = Counter(rcpt for r in w.letters() for rcpt in r.rcpt_tos)
    assert set(letters) == {e for e, _, _ in USERS} >= set(got_letters), (sorted(letters), got_letters)
    for address, letter in letters.items():
        got = got_letters.get(address, 0)
        assert got == 1 and letter.state == "sent" or got <= 1 and letter.state == "uncertain", (address, got)
    tally = Counter((n.purpose, n.state) for n in rows)
    print(f"notices: {sorted(tally.items())}")
    assert all(n.reason == notify.LOST for n in rows if n.state == "uncertain"), [n.reason for n in rows]
    # One kill while each kind was going out: at most one of each in flight.
    assert tally["customer_notice", "uncertain"] <= 1 and tally["password_reset", "uncertain"] <= 1, tally
    assert report["notices_undelivered"] == tally["customer_notice", "failed"] + tally["customer_notice", "uncertain"]


def _sealed(session, run_id: int, label_start: str) -> str:
    """The one new key of this label waiting to be shown (sealed), opened."""
    rows = session.scalars(select(RevealedSecret).where(RevealedSecret.run_id == run_id,
                                                        RevealedSecret.label.startswith(label_start))).all()
    assert len(rows) == 1 and rows[0].ciphertext, [r.label for r in rows]
    return unseal(SECRET_KEY, rows[0].ciphertext)


def _check_vigil_keys(w: World, session, run_id: int) -> None:
    """Old keys refused; exactly one live replacement each (same name, scope, customer), the one sealed."""
    for name, scope, customer in API_KEYS:
        rows = session.scalars(select(ApiKey).where(ApiKey.name == name)).all()
        old = hash_key(w.old_keys[name])
        assert [r.revoked_at is not None for r in rows if r.key_hash == old] == [True], name
        [new] = [r for r in rows if r.revoked_at is None]
        assert (new.scope, new.customer.slug if new.customer else None) == (scope, customer)
        assert hash_key(_sealed(session, run_id, f"API key '{name}'")) == new.key_hash
        assert w.api.call("GET", "/api/v1/incidents", key=w.old_keys[name]).status_code == 401, name
    new_admin = _sealed(session, run_id, "API key 'ops-admin'")
    assert w.api.call("GET", f"/api/v1/playbook-runs/{run_id}", key=new_admin).status_code == 200
    paths = {"scripts": "/api/v1/alerts", "prometheus": "/api/v1/alerts/alertmanager"}
    for name, old_key in w.integrations.items():
        [row] = session.scalars(select(Integration).where(Integration.name == name)).all()
        assert row.revoked_at is None and row.key_hash != hash_key(old_key), name
        assert hash_key(_sealed(session, run_id, f"Integration key checkout/{name}")) == row.key_hash
        refused = w.api.call("POST", paths[name], key=old_key, json={"summary": "old key", "severity": "info"})
        assert refused.status_code in (401, 403), (name, refused.status_code, refused.text)


def _check_sessions(w: World, session) -> None:
    users = session.scalars(select(User)).all()
    assert sorted(u.email for u in users) == sorted(e for e, _, _ in USERS)
    assert all(u.must_change_password and u.session_epoch >= 1 for u in users), [
        (u.email, u.must_change_password, u.session_epoch) for u in users]


def _check_aws(w: World) -> None:
    """One access key left, the one in Secrets Manager; it signs in as the user, the old one not
    (moto checks keys only with its auth on)."""
    iam = boto3.client("iam")
    arn = iam.get_user(UserName=IAM_USER)["User"]["Arn"]
    stored = json.loads(boto3.client("secretsmanager").get_secret_value(
        SecretId=aws_iam.secret_name(IAM_USER))["SecretString"])
    keys = [k["AccessKeyId"] for k in iam.list_access_keys(UserName=IAM_USER)["AccessKeyMetadata"]]
    assert keys == [stored["access_key_id"]] != [w.old_aws["AccessKeyId"]], keys
    w.moto.enforce_auth(True)
    try:
        assert _aws_identity(stored["access_key_id"], stored["secret_access_key"]) == arn
        assert _aws_identity(w.old_aws["AccessKeyId"], w.old_aws["SecretAccessKey"]) == "InvalidClientTokenId"
    finally:
        w.moto.enforce_auth(False)
    w.secrets.append(stored["secret_access_key"])


def _aws_identity(key_id: str, secret: str) -> str:
    sts = boto3.client("sts", aws_access_key_id=key_id, aws_secret_access_key=secret)
    try:
        return sts.get_caller_identity()["Arn"]
    except ClientError as exc:
        return exc.response["Error"]["Code"]


def _check_data_stores(w: World, session) -> None:
    """The PostgreSQL role and the Redis user log in with the stored password, not the old one."""
    store = DatabaseSecretStore(session, SECRET_KEY)
    (role, old_pg), (user, old_redis) = w.pg_role, w.redis_user
    pg_password = store.get(postgresql_role.secret_name(role))["password"]
    redis_password = store.get(redis_acl.secret_name(user))["password"]
    with psycopg.connect(w.pg_dsn, user=role, password=pg_password, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == role
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(w.pg_dsn, user=role, password=old_pg, connect_timeout=5).close()
    assert redis.Redis.from_url(w.redis_url, username=user, password=redis_password, socket_timeout=5).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(w.redis_url, username=user, password=old_redis, socket_timeout=5).ping()
    w.secrets += [pg_password, redis_password]


def _check_no_secret_shown(w: World, session, run_id: int, incident_id: int) -> None:
    """No generated secret (new keys, passwords, reset links) in the logs, in what the API answered,
    on the timeline, or in a step's summary, error or checkpoint."""
    revealed = session.scalars(select(RevealedSecret).where(RevealedSecret.run_id == run_id)).all()
    links = [token for r in w.letters() for token in RESET_LINK.findall(r.message.get_content())]
    assert len(revealed) == len(API_KEYS) + len(w.integrations) and len(links) == len(w.letters())
    w.secrets += [unseal(SECRET_KEY, r.ciphertext) for r in revealed] + links
    assert all(len(secret) >= 20 for secret in w.secrets)
    timeline = w.api.ok("GET", f"/api/v1/incidents/{incident_id}/timeline")
    steps = session.scalars(select(PlaybookStep).where(PlaybookStep.run_id == run_id)).all()
    places = {"logs": w.logs(), "API answers": "\n".join(w.api.answers), "timeline": json.dumps(timeline),
              "steps": json.dumps([[s.summary, s.error, s.checkpoint] for s in steps], default=str),
              "run": json.dumps(session.get(PlaybookRun, run_id).report, default=str)}
    shown = [(where, secret[:4] + "…") for where, text in places.items() for secret in w.secrets if secret in text]
    assert not shown, f"secrets shown: {shown}"
