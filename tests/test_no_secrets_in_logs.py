"""Nothing secret in the logs. A broad path runs with every logger at DEBUG (ours, werkzeug,
SQLAlchemy with its parameters, urllib3, twilio, slack_sdk, celery): a user created with a password
enrols TOTP and signs in, an API key and an integration key are made, an alert pages by SMS through
the fake Twilio and by Slack, the SMS reply and the Slack button come back signed. No log record may
hold a password, the TOTP secret, a recovery code, a key, a provider token, SECRET_KEY or the
encryption key, in clear or as HTTP basic credentials."""
from __future__ import annotations

import base64
import dataclasses
import logging
import re
import threading

import pyotp
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select
from werkzeug.serving import make_server

import config as settings
from incidents import clock as clock_module
from incidents.app import create_app
from incidents.cli import main
from incidents.models import EscalationPolicy
from tests.console.conftest import csrf_from
from tests.e2e.conftest import free_port
from tests.fakes.fixtures import fake_slack, fake_twilio  # noqa: F401
from tests.fakes.twilio_server import FROM_NUMBER
from tests.helpers import bearer
from tests.test_paging_flow import ANA, MONDAY_NIGHT, Paging, _configure, code_in

PASSWORD = "Amber-Kettle-Orchard-Nine-77"
ENCRYPTION_KEY = Fernet.generate_key().decode()
LOGGERS = ("", "incidents", "alerts", "workers", "werkzeug", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool",
           "urllib3", "twilio", "twilio.http_client", "slack_sdk", "celery", "kombu", "flask_limiter")


@pytest.fixture
def vigil(app, test_config, session, fake_twilio, fake_slack, clock):  # noqa: F811
    """Vigil over real HTTP with Twilio, Slack and its own encryption key configured."""
    clock.at = MONDAY_NIGHT
    port = free_port()
    config = dataclasses.replace(
        test_config, public_url=f"http://127.0.0.1:{port}", encryption_keys=(ENCRYPTION_KEY,),
        twilio=settings.TwilioSettings(fake_twilio.account_sid, fake_twilio.auth_token, FROM_NUMBER,
                                       api_url=fake_twilio.url),
        slack=settings.SlackSettings(fake_slack.token, fake_slack.signing_secret, "C0OPS", fake_slack.url))
    vigil_app = create_app(config)
    server = make_server("127.0.0.1", port, vigil_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _configure(session)
    yield Paging(vigil_app, config.public_url)
    server.shutdown()
    vigil_app.extensions["vigil.db"].engine.dispose()


@pytest.fixture
def debug_logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def cli(test_config, args, stdin=None) -> str:
    env = {"DATABASE_URL": test_config.database_url, "VIGIL_INSTANCE_PATH": str(test_config.instance_path),
           "SECRET_KEY": test_config.secret_key, "VIGIL_ENCRYPTION_KEYS": ENCRYPTION_KEY}
    result = CliRunner().invoke(main, args, env=env, input=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_a_broad_path_at_debug_logs_no_secret(vigil, debug_logs, test_config, make, session, clock,
                                              fake_twilio, fake_slack):  # noqa: F811
    cli(test_config, ["create-user", "lee-admin@ops.example", "--role", "admin", "--password-stdin"], PASSWORD + "\n")
    totp_secret, recovery_codes = enrol(vigil.app.test_client(), "lee-admin@ops.example")
    clock.advance(seconds=30)
    signed_in = sign_in(vigil.app.test_client(), "lee-admin@ops.example", totp_secret)
    assert signed_in.get("/").status_code == 200

    admin_key = cli(test_config, ["create-api-key", "--name", "ops-admin", "--scope", "admin"])
    client = vigil.app.test_client()
    made = client.post("/api/v1/api-keys", json={"name": "grafana", "scope": "read"}, headers=bearer(admin_key))
    assert made.status_code == 201
    make.rules()
    svc = make.service()
    svc.service.escalation_policy_id = session.scalar(select(EscalationPolicy.id))
    session.commit()
    integration_key = cli(test_config, ["rotate-integration-key", "checkout", "generic"])

    fired = client.post("/api/v1/alerts", headers=bearer(integration_key),
                        json={"summary": "Checkout is down", "severity": "critical", "dedup_key": "checkout-down"})
    assert fired.status_code == 202
    vigil.drain()
    [sms] = fake_twilio.bodies_to(ANA)
    reply = fake_twilio.send_sms(vigil.base_url + "/webhooks/twilio/sms", from_=ANA, body=f"{code_in(sms)}a")
    assert reply.status_code == 200
    click = fake_slack.click(vigil.base_url + "/webhooks/slack/actions", fake_slack.posts[0], "resolve",
                             user_id="U0ANA")
    assert click.status_code == 200
    vigil.drain()

    secrets = {"password": PASSWORD, "totp secret": totp_secret, "admin key": admin_key,
               "api key": made.json["key"], "integration key": integration_key,
               "twilio auth token": fake_twilio.auth_token,
               "twilio basic auth": _basic(fake_twilio.account_sid, fake_twilio.auth_token),
               "slack token": fake_slack.token, "slack signing secret": fake_slack.signing_secret,
               "SECRET_KEY": test_config.secret_key, "encryption key": ENCRYPTION_KEY,
               **{f"integration key {kind}": key for kind, key in svc.keys.items()},
               **{f"recovery code {i}": code for i, code in enumerate(recovery_codes)}}
    records = debug_logs.records
    seen = {r.name for r in records}
    assert {"sqlalchemy.engine.Engine", "werkzeug", "urllib3.connectionpool", "twilio.http_client",
            "slack_sdk.web.base_client"} <= seen, seen  # DEBUG really on, SQL parameters included
    leaks = [(what, r.name, r.levelname) for r in records for what, secret in secrets.items()
             if secret in _everything_in(r)]
    assert leaks == [], leaks


def enrol(client, email: str) -> tuple[str, list[str]]:
    """First sign-in: the password, then the TOTP enrolment; returns the secret and recovery codes."""
    page = _password(client, email)
    assert page.headers["Location"].endswith("/login/enrol")
    html = client.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'<code class="secret">(\w+)</code>', html).group(1)
    done = client.post("/login/enrol", data={"csrf_token": csrf_from(html), "code": _code(secret)})
    assert done.status_code == 200
    return secret, re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.get_data(as_text=True))


def sign_in(client, email: str, secret: str):
    page = _password(client, email)
    html = client.get(page.headers["Location"]).get_data(as_text=True)
    response = client.post("/login/second-factor", data={"csrf_token": csrf_from(html), "code": _code(secret)})
    assert response.status_code == 302
    return client


def _password(client, email: str):
    html = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_from(html), "email": email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def _code(secret: str) -> str:
    return pyotp.TOTP(secret).at(clock_module.now())


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _everything_in(record: logging.LogRecord) -> str:
    """The message as a handler would write it, its traceback, and every attribute (extras too)."""
    text = logging.Formatter().format(record)
    return "\n".join([text, repr(record.args), repr(vars(record))])
