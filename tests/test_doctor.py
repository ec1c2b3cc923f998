"""`vigil doctor` on the test's database and broker (the embedded default, or PostgreSQL + Redis when
VIGIL_TEST_DATABASE_URL and VIGIL_TEST_BROKER_URL say so), with the providers pointed at the
loopback fakes: a working installation passes every check; each broken part is named in plain
words with what to do, and the exit status is 1."""
from __future__ import annotations

import os
import subprocess
import sys
import pytest
from click.testing import CliRunner

import workers.tasks.engine  # noqa: F401  (registers the tasks)
from incidents.cli import main
from tests.e2e.conftest import log_tail, wait_until
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.fakes.smtp import SmtpSink, closed_port, smtp_sink  # noqa: F401
from tests.fakes.twilio_server import FROM_NUMBER

BROKER = os.environ.get("VIGIL_TEST_BROKER_URL")
SETTINGS = ("DATABASE_URL", "CELERY_BROKER_URL", "VIGIL_INSTANCE_PATH", "PUBLIC_URL", "SECRET_KEY", "SMTP_URL",
            "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_API_URL", "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET", "SLACK_CHANNEL", "SLACK_API_URL", "TRUSTED_PROXY_HOPS", "ENGINE_TICK_SECONDS")


@pytest.fixture
def environ(database_url, tmp_path):
    """The environment of an installation on the test's database (every other setting unset)."""
    env = dict.fromkeys(SETTINGS)
    env.update(DATABASE_URL=database_url, VIGIL_INSTANCE_PATH=str(tmp_path / "instance"),
               SECRET_KEY="doctor-test-secret-key-" + "x" * 32)
    if BROKER:
        env["CELERY_BROKER_URL"] = BROKER
    return env


def with_providers(env, fake_twilio, fake_slack, sink) -> dict:
    return {**env, "SMTP_URL": f"smtp://127.0.0.1:{sink.port}?from=vigil@vigil.test",
            "TWILIO_ACCOUNT_SID": fake_twilio.account_sid, "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
            "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_URL": fake_twilio.url,
            "SLACK_BOT_TOKEN": fake_slack.token, "SLACK_SIGNING_SECRET": fake_slack.signing_secret,
            "SLACK_API_URL": fake_slack.url}


def doctor(env):
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def line(result, name: str) -> str:
    found = [row for row in result.output.splitlines() if row[6:].startswith(name + ":")]
    assert found, f"no {name} line in:\n{result.output}"
    return found[0]


def test_a_working_installation_passes_every_check(environ, fake_twilio, fake_slack, smtp_sink, tmp_path):
    """A real worker with beat runs the engine; the doctor asks every part and changes nothing."""
    env = {**with_providers(environ, fake_twilio, fake_slack, smtp_sink),
           "PUBLIC_URL": "https://vigil.example.com", "TRUSTED_PROXY_HOPS": "1"}
    worker_log = tmp_path / "worker.log"
    process_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None and "proxy" not in k.lower()}
    with open(worker_log, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.main", "worker", "--beat", "--schedule",
             str(tmp_path / "celerybeat-schedule"), "--concurrency", "1", "--loglevel", "INFO"],
            env=process_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        result = wait_until(lambda: (r := doctor(env)).exit_code == 0 and r, timeout=60,
                            what="every check to pass", describe=lambda: doctor(env).output + log_tail(worker_log))
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert "schema at the newest migration" in line(result, "database")
    assert line(result, "broker").startswith("ok") and ("Redis answers PING" if BROKER else "embedded") in result.output
    assert line(result, "e-mail (SMTP)") == f"ok    e-mail (SMTP): 127.0.0.1:{smtp_sink.port} greets us"
    assert line(result, "SMS (Twilio)") == "ok    SMS (Twilio): account 'Vigil test account' is active"
    assert line(result, "Slack") == "ok    Slack: the token works: bot 'vigil' in 'Vigil Test'"
    assert line(result, "engine tick").startswith("ok    engine tick: ran ")
    assert line(result, "workers").startswith("ok") and line(result, "beat").startswith("ok")
    assert result.output.endswith("all checks passed\n")
    assert smtp_sink.received == [] and fake_twilio.messages == [] and fake_slack.posts == []


def test_an_unreachable_database_is_named_with_what_to_do(environ):
    result = doctor({**environ, "DATABASE_URL": f"postgresql+psycopg://vigil@127.0.0.1:{closed_port()}/vigil"})
    assert result.exit_code == 1
    assert line(result, "database").startswith("FAIL  database: cannot connect: ")
    assert "Connection refused" in line(result, "database")
    assert "what to do: check DATABASE_URL, and that the database server runs and lets this host in" in result.output
    assert "engine tick" not in result.output  # not asked of a database we cannot reach
    assert "problem(s): database" in result.output.splitlines()[-1]


def test_a_database_without_schema_says_to_upgrade(environ, tmp_path):
    result = doctor({**environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'missing.db'}"})
    assert result.exit_code == 1
    assert f"FAIL  database: no database file at {tmp_path / 'missing.db'}" in result.output
    assert "what to do: run `vigil db upgrade` to create it" in result.output
    assert not (tmp_path / "missing.db").exists()


def test_a_bad_setting_is_named(environ):
    result = doctor({**environ, "DATABASE_URL": "mysql://vigil@db/vigil"})
    assert result.exit_code == 1
    assert result.output.startswith("FAIL  configuration: DATABASE_URL: unsupported scheme 'mysql'")


def test_wrong_slack_and_twilio_credentials_are_refused(environ, fake_twilio, fake_slack, smtp_sink):
    env = with_providers(environ, fake_twilio, fake_slack, smtp_sink)
    result = doctor({**env, "SLACK_BOT_TOKEN": "xoxb-revoked", "TWILIO_AUTH_TOKEN": "wrong-token"})
    assert result.exit_code == 1
    assert line(result, "Slack") == "FAIL  Slack: credentials refused (Slack 200: invalid_auth)"
    assert "check SLACK_BOT_TOKEN (a bot token, xoxb-…) and that the app is still installed" in result.output
    assert line(result, "SMS (Twilio)").startswith("FAIL  SMS (Twilio): credentials refused (Twilio 401")
    assert "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in result.output
    assert "wrong-token" not in result.output and "xoxb-revoked" not in result.output
    assert fake_slack.take_errors() and fake_twilio.take_errors()  # the fakes saw the bad credentials


def test_smtp_that_refuses_the_login_or_does_not_answer(environ, tmp_path):
    with SmtpSink(credentials=("vigil", "right")) as sink:
        result = doctor({**environ, "SMTP_URL": f"smtp://vigil:wrong@127.0.0.1:{sink.port}"})
    assert line(result, "e-mail (SMTP)").startswith(f"FAIL  e-mail (SMTP): SMTP 127.0.0.1:{sink.port}: login: ")
    assert "wrong" not in line(result, "e-mail (SMTP)")
    assert sink.received == []

    port = closed_port()
    result = doctor({**environ, "SMTP_URL": f"smtp://127.0.0.1:{port}"})
    assert result.exit_code == 1
    assert line(result, "e-mail (SMTP)").startswith(f"FAIL  e-mail (SMTP): SMTP 127.0.0.1:{port}: connect: ")


def test_an_unreachable_broker(environ):
    result = doctor({**environ, "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed_port()}/0"})
    assert result.exit_code == 1
    assert line(result, "broker").startswith("FAIL  broker: Redis does not answer: ")
    assert "what to do: check CELERY_BROKER_URL (host, port, password) and that Redis runs" in result.output


def test_plain_http_on_a_public_address_fails(environ):
    result = doctor({**environ, "PUBLIC_URL": "http://vigil.example.com"})
    assert line(result, "PUBLIC_URL").startswith("FAIL  PUBLIC_URL: http://vigil.example.com is plain http")
    result = doctor({**environ, "PUBLIC_URL": "https://vigil.example.com", "TRUSTED_PROXY_HOPS": "1"})
    assert line(result, "PUBLIC_URL") == "ok    PUBLIC_URL: https://vigil.example.com"


def test_a_stopped_engine_is_noticed(app, environ, clock):
    """The tick ran, then nothing for five minutes: the engine, workers and beat lines say so."""
    env = {**environ, "CELERY_BROKER_URL": None}  # the embedded broker: nothing to ping, the tick tells
    app.extensions["celery"].tasks["engine.tick"]()
    result = doctor(env)
    assert line(result, "engine tick") == "ok    engine tick: ran 0 s ago, nothing overdue"

    clock.advance(minutes=5)
    result = doctor(env)
    assert result.exit_code == 1
    assert line(result, "engine tick").startswith("FAIL  engine tick: last ran 5 min ago: escalations and SLA "
                                                  "warnings are not going out")
    assert line(result, "beat") == "FAIL  beat: nothing it schedules has run for a minute"
    assert "run exactly one `celery -A workers.main beat`" in result.output
    assert line(result, "workers").startswith("FAIL  workers: no recent tick")


def test_the_watchdog_keeps_beat_alive_while_the_tick_is_wedged(app, environ, clock):
    env = {**environ, "CELERY_BROKER_URL": None}
    app.extensions["celery"].tasks["engine.tick"]()
    clock.advance(minutes=5)
    app.extensions["celery"].tasks["engine.watchdog"]()  # beat runs, the tick does not
    result = doctor(env)
    assert line(result, "engine tick").startswith("FAIL")
    assert line(result, "beat") == "ok    beat: schedules the tick and the watchdog"


def test_a_tick_that_runs_while_pages_wait_for_a_worker(app, environ, clock, session):
    """The tick runs, but no worker sends the page it left behind: a minute later the doctor says so."""
    from tests.test_engine_watchdog import waiting_page

    env = {**environ, "CELERY_BROKER_URL": None}
    tick = app.extensions["celery"].tasks["engine.tick"]
    tick()
    waiting_page(session, clock())
    clock.advance(seconds=1)
    tick()
    clock.advance(seconds=61)
    tick()
    result = doctor(env)
    assert line(result, "engine tick") == "FAIL  engine tick: runs, but work is 62 s overdue (pages not sent)"
    assert "the workers on the default queue are stuck or too few" in result.output
