"""Vigil's settings, read from the environment only.

With nothing set Vigil needs no external server: SQLite and a SQLite-backed Celery broker under an
instance folder. A bad setting raises ConfigError with one line that names it; callers print that
line and stop instead of showing a traceback.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_MAX_CONTENT_LENGTH = 1024 * 1024
_BROKER_SCHEMES = {"redis", "rediss", "sqla+sqlite", "sqla+postgresql", "amqp", "pyamqp", "memory"}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    channel: str | None = None
    api_url: str | None = None


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str
    api_url: str | None = None


@dataclass(frozen=True)
class Config:
    database_url: str
    broker_url: str
    secret_key: str = field(repr=False)
    public_url: str
    instance_path: Path
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
    testing: bool = False
    engine_tick_seconds: float = 1.0
    sms_per_minute: int = 3
    slack: SlackSettings | None = None
    twilio: TwilioSettings | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def flask_settings(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "TESTING": self.testing,
            "VIGIL": self,
        }


def load(environ: dict[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    instance = Path(env.get("VIGIL_INSTANCE_PATH") or Path.cwd() / "instance").resolve()
    try:
        instance.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"VIGIL_INSTANCE_PATH: cannot create {instance}: {exc.strerror}") from None
    return Config(
        database_url=_database_url(env.get("DATABASE_URL"), instance),
        broker_url=_broker_url(env.get("CELERY_BROKER_URL"), instance),
        secret_key=_secret_key(env.get("SECRET_KEY"), instance),
        public_url=_public_url(env.get("PUBLIC_URL")),
        instance_path=instance,
        max_content_length=_positive_int(env, "MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
        engine_tick_seconds=_seconds(env, "ENGINE_TICK_SECONDS", 1.0),
        sms_per_minute=_positive_int(env, "SMS_PER_MINUTE", 3),
        slack=_slack(env),
        twilio=_twilio(env),
    )


def _all_or_none(env, names: tuple[str, ...], what: str) -> dict[str, str] | None:
    """A provider is configured by all its required settings or none; half is a mistake."""
    given = {name: env.get(name) for name in names if env.get(name)}
    if not given:
        return None
    missing = [name for name in names if name not in given]
    if missing:
        raise ConfigError(f"{missing[0]}: required when {what} is configured "
                          f"({', '.join(sorted(given))} set)")
    return given


def _slack(env) -> SlackSettings | None:
    given = _all_or_none(env, ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"), "Slack")
    if given is None:
        return None
    return SlackSettings(given["SLACK_BOT_TOKEN"], given["SLACK_SIGNING_SECRET"],
                         env.get("SLACK_CHANNEL") or None, _optional_url(env, "SLACK_API_URL"))


def _twilio(env) -> TwilioSettings | None:
    given = _all_or_none(env, ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"), "Twilio")
    if given is None:
        return None
    number = given["TWILIO_FROM_NUMBER"]
    if not (number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16):
        raise ConfigError(f"TWILIO_FROM_NUMBER: expected an E.164 number like +15005550006, got {number!r}")
    return TwilioSettings(given["TWILIO_ACCOUNT_SID"], given["TWILIO_AUTH_TOKEN"], number,
                          _optional_url(env, "TWILIO_API_URL"))


def _optional_url(env, name: str) -> str | None:
    value = env.get(name)
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}: expected http(s)://host[:port][/path], got {value!r}")
    return value.rstrip("/")


def _seconds(env, name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number of seconds, got {raw!r}") from None
    if not 0.1 <= value <= 60:
        raise ConfigError(f"{name}: must be between 0.1 and 60 seconds, got {raw!r}")
    return value


def _database_url(value: str | None, instance: Path) -> str:
    if not value:
        return f"sqlite:///{instance / 'vigil.db'}"
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme in ("postgres", "postgresql"):
        raise ConfigError(
            "DATABASE_URL: use the psycopg driver, e.g. postgresql+psycopg://user@host/dbname"
        )
    if scheme not in ("postgresql+psycopg", "sqlite"):
        raise ConfigError(
            f"DATABASE_URL: unsupported scheme {scheme or '(none)'!r}; "
            "expected postgresql+psycopg://… or sqlite:///path"
        )
    return value


def _broker_url(value: str | None, instance: Path) -> str:
    if not value:
        return f"sqla+sqlite:///{instance / 'broker.db'}"
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in _BROKER_SCHEMES:
        raise ConfigError(
            f"CELERY_BROKER_URL: unsupported scheme {scheme or '(none)'!r}; "
            "expected redis://host:6379/0 (or leave it unset for the embedded broker)"
        )
    return value


def _secret_key(value: str | None, instance: Path) -> str:
    if value:
        if len(value) < 32:
            raise ConfigError("SECRET_KEY: must be at least 32 characters")
        return value
    # Generated once and kept in the instance folder, readable by its owner only.
    path = instance / "secret_key"
    try:
        if path.exists():
            stored = path.read_text().strip()
            if len(stored) >= 32:
                return stored
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
    except OSError as exc:
        raise ConfigError(f"SECRET_KEY: unset and cannot be stored in {path}: {exc.strerror}") from None


def _public_url(value: str | None) -> str:
    url = (value or "http://127.0.0.1:5000").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"PUBLIC_URL: expected http(s)://host[:port], got {value!r}")
    return url


def _positive_int(env, name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if number <= 0:
        raise ConfigError(f"{name}: must be positive, got {raw!r}")
    return number
