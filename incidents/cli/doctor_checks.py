"""The checks `vigil doctor` runs: each returns a Verdict in plain words, with what to do when it fails.

Every check asks the real thing the way Vigil itself uses it (the database engine, the broker, the
provider clients), bounded by a short timeout, and changes nothing: no mail, no SMS, no schema.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import config as settings
from incidents.providers.base import ProviderError

TIMEOUT = 5  # seconds for each network check
FRESH = timedelta(seconds=60)  # the engine ticks every second and records it every 10 s


@dataclass(frozen=True)
class Verdict:
    name: str
    ok: bool | None  # None: not configured, nothing to check
    said: str
    todo: str = ""


# --- configuration, database -----------------------------------------------------------------------

def configuration(environ) -> tuple[Verdict, settings.Config | None]:
    try:
        config = settings.load(environ)
    except settings.ConfigError as exc:
        return Verdict("configuration", False, str(exc), "fix that setting in the environment (see README)"), None
    return Verdict("configuration", True, f"loads (database {_kind(config.database_url)}, "
                                          f"broker {_kind(config.broker_url)})"), config


def database(config: settings.Config) -> Verdict:
    """Reachable, and its schema at the newest migration this code knows."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from incidents import migrate
    from incidents.db import make_engine

    if config.is_sqlite:
        path = Path(urlsplit(config.database_url).path[1:])
        if not path.exists():
            return Verdict("database", False, f"no database file at {path}",
                           "run `vigil db upgrade` to create it (or set DATABASE_URL)")
    head = ScriptDirectory.from_config(migrate.alembic_config(config.database_url)).get_current_head()
    extra = {} if config.is_sqlite else {"connect_args": {"connect_timeout": TIMEOUT}}
    engine = make_engine(config.database_url, **extra)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        return Verdict("database", False, f"cannot connect: {_first_line(getattr(exc, 'orig', exc))}",
                       "check DATABASE_URL, and that the database server runs and lets this host in")
    finally:
        engine.dispose()
    where = _kind(config.database_url)
    if current == head:
        return Verdict("database", True, f"{where} reachable, schema at the newest migration ({head})")
    if current is None:
        return Verdict("database", False, f"{where} reachable but has no schema",
                       "run `vigil db upgrade`")
    return Verdict("database", False, f"{where} reachable, schema at {current} but this code needs {head}",
                   "run `vigil db upgrade` (after a backup: `vigil backup`)")


# --- broker ----------------------------------------------------------------------------------------

def broker(config: settings.Config) -> Verdict:
    url = config.broker_url
    if url.startswith("memory://"):
        return Verdict("broker", True, "in-process memory broker (tests only: no worker can share it)")
    if url.startswith(("redis://", "rediss://")):
        return _redis(url)
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # kombu raises per transport; any failure means "not reachable"
        return Verdict("broker", False, f"cannot connect: {_first_line(exc)}",
                       "check CELERY_BROKER_URL and that the broker runs")
    if url.startswith("sqla+sqlite"):
        return Verdict("broker", True, "embedded (a SQLite file in the instance folder)")
    return Verdict("broker", True, f"{_kind(url)} reachable")


def _redis(url: str) -> Verdict:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT).ping()
    except redis.RedisError as exc:
        return Verdict("broker", False, f"Redis does not answer: {_first_line(exc)}",
                       "check CELERY_BROKER_URL (host, port, password) and that Redis runs")
    return Verdict("broker", True, "Redis answers PING")


# --- providers -------------------------------------------------------------------------------------

def smtp(config: settings.Config) -> Verdict:
    if config.smtp is None:
        return Verdict("e-mail (SMTP)", None, "SMTP_URL not set: invitations, resets and reports are not mailed")
    from incidents.providers.email import MailError, SmtpMailer

    try:
        SmtpMailer(config.smtp).check()
    except MailError as exc:
        return Verdict("e-mail (SMTP)", False, exc.message,
                       "check SMTP_URL (host, port, user and password, starttls) and that the server lets this host in")
    s = config.smtp
    return Verdict("e-mail (SMTP)", True, f"{s.host}:{s.port} greets us" + (" and accepts the login" if s.user else ""))


def twilio(config: settings.Config) -> Verdict:
    if config.twilio is None:
        return Verdict("SMS (Twilio)", None, "TWILIO_* not set: no SMS pages")
    from incidents.providers.twilio_sms import TwilioSms

    t = config.twilio
    try:
        account = TwilioSms(t.account_sid, t.auth_token, t.from_number, api_url=t.api_url, timeout=TIMEOUT).account()
    except ProviderError as exc:
        return Verdict("SMS (Twilio)", False, _provider_said(exc),
                       "check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (and TWILIO_API_URL if set)")
    if account["status"] != "active":
        return Verdict("SMS (Twilio)", False, f"account {account['friendly_name']!r} is {account['status']}",
                       "reactivate the Twilio account; no SMS goes out meanwhile")
    return Verdict("SMS (Twilio)", True, f"account {account['friendly_name']!r} is active")


def slack(config: settings.Config) -> Verdict:
    if config.slack is None:
        return Verdict("Slack", None, "SLACK_BOT_TOKEN not set: no Slack pages")
    from incidents.providers.slack_chat import SlackChat

    try:
        who = SlackChat(config.slack.bot_token, api_url=config.slack.api_url, timeout=TIMEOUT).identity()
    except ProviderError as exc:
        return Verdict("Slack", False, _provider_said(exc),
                       "check SLACK_BOT_TOKEN (a bot token, xoxb-…) and that the app is still installed")
    return Verdict("Slack", True, f"the token works: bot {who['user']!r} in {who['team']!r}")


def public_url(config: settings.Config, environ) -> Verdict:
    url, given = config.public_url, environ.get("PUBLIC_URL")
    host = urlsplit(url).hostname or ""
    local = host in ("localhost", "127.0.0.1", "::1")
    if not given:
        verdict = not local or config.is_sqlite  # a PostgreSQL deployment is not a trial on one machine
        return Verdict("PUBLIC_URL", verdict, f"not set: links and Twilio's signatures use {url}",
                       "set PUBLIC_URL to the https:// address people and Twilio reach Vigil at")
    if url.startswith("http://") and not local:
        return Verdict("PUBLIC_URL", False, f"{url} is plain http: passwords and session cookies cross the "
                       "network unencrypted", "serve Vigil behind HTTPS and set PUBLIC_URL=https://… (docs/deploy.md)")
    note = ""
    if url.startswith("https://") and not config.console.trusted_proxy_hops:
        note = " (TRUSTED_PROXY_HOPS is 0: behind a reverse proxy set it to 1, or client addresses are the proxy's)"
    return Verdict("PUBLIC_URL", True, url + note)


# --- engine, workers, beat -------------------------------------------------------------------------

def engine(config: settings.Config, now: datetime) -> tuple[Verdict, datetime | None, datetime | None]:
    """The tick's heartbeat and lag; returns the last tick and the watchdog's last run too."""
    from incidents.cli.session import command_session
    from incidents.services.engine import watchdog

    with command_session(config) as session:
        ticked = watchdog.last_tick(session)
        watched = watchdog.last_watch(session)
        late = watchdog.lag_alarm(session, previous_tick=ticked, now=now) if ticked else None
    if ticked is None:
        return Verdict("engine tick", False, "has never run",
                       "start `celery -A workers.main beat` once and a worker (docs/deploy.md)"), None, watched
    if now - ticked > FRESH:
        return Verdict("engine tick", False, f"last ran {_ago(now - ticked)} ago: escalations and SLA "
                       "warnings are not going out", "see the worker and beat lines below"), ticked, watched
    if late is not None:
        return Verdict("engine tick", False, f"runs, but work is {_ago(late.behind)} overdue (pages not sent)",
                       "the workers on the default queue are stuck or too few: restart them or add one"), ticked, watched
    return Verdict("engine tick", True, f"ran {_ago(now - ticked)} ago, nothing overdue"), ticked, watched


def workers(config: settings.Config, ticked: datetime | None, now: datetime) -> Verdict:
    ticking = ticked is not None and now - ticked <= FRESH
    if config.broker_url.startswith(("sqla+", "memory://")):
        # The embedded broker cannot broadcast a ping; a recent tick means a worker ran it.
        if ticking:
            return Verdict("workers", True, "a worker runs the tick (the embedded broker cannot be asked for more)")
        return Verdict("workers", False, "no recent tick, and the embedded broker cannot be asked",
                       "start `celery -A workers.main worker --beat` (or `vigil up`)")
    answers = _queues_by_worker(config.broker_url)
    if not answers:
        return Verdict("workers", False, "no worker answers", "start `celery -A workers.main worker` (systemd: "
                       "vigil-worker.service, docs/deploy.md)")
    engine_consumers = [name for name, queues in answers.items() if "engine" in queues]
    if not engine_consumers:
        return Verdict("workers", False, f"{len(answers)} worker(s) answer but none consumes the engine queue",
                       "start workers without -Q, or with -Q celery,engine")
    return Verdict("workers", True, f"{len(answers)} worker(s) answer; {len(engine_consumers)} on the engine queue")


def beat(ticked: datetime | None, watched: datetime | None, now: datetime) -> Verdict:
    last = max([when for when in (ticked, watched) if when is not None], default=None)
    if last is not None and now - last <= FRESH:
        return Verdict("beat", True, "schedules the tick and the watchdog")
    return Verdict("beat", False, "nothing it schedules has run for a minute" if last else "nothing it schedules "
                   "has ever run", "run exactly one `celery -A workers.main beat` (or one worker with --beat)")


def _queues_by_worker(broker_url: str) -> dict[str, set[str]]:
    from celery import Celery

    probe = Celery(broker=broker_url)
    try:
        replies = probe.control.inspect(timeout=2.0).active_queues() or {}
    except Exception:  # the broker went away between checks: no worker can answer
        return {}
    finally:
        probe.close()
    return {name: {queue["name"] for queue in queues} for name, queues in replies.items()}


def _provider_said(exc: ProviderError) -> str:
    if exc.code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "20003") or " 401" in exc.message:
        return f"credentials refused ({exc.message})"
    return exc.message


def _kind(url: str) -> str:
    scheme = url.split("://", 1)[0]
    return {"sqlite": "SQLite", "postgresql+psycopg": "PostgreSQL", "sqla+sqlite": "embedded",
            "redis": "Redis", "rediss": "Redis"}.get(scheme, scheme)


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


def _first_line(exc) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]


def environ() -> dict[str, str]:
    return dict(os.environ)
