"""Vigil's settings, read from the environment only.

With nothing set Vigil needs no external server: SQLite and a SQLite-backed Celery broker under an
instance folder. A bad setting raises ConfigError with one line that names it; callers print that
line and stop instead of showing a traceback.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

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
class SmtpSettings:
    """Outgoing e-mail (SMTP_URL); see incidents/providers/email.py."""

    host: str
    port: int
    from_address: str  # the From header: "vigil@example.com" or "Vigil <vigil@example.com>"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    implicit_tls: bool = False  # smtps://: TLS from the first byte
    starttls: bool = False  # smtp:// upgraded with STARTTLS before login
    timeout: float = 10.0  # seconds, for each network operation


@dataclass(frozen=True)
class ConsoleSettings:
    """Sign-in and session policy for the web console."""

    password_max_age_days: int = 30   # 0: passwords never expire
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    trusted_proxy_hops: int = 0       # reverse proxies in front whose X-Forwarded-* headers count


@dataclass(frozen=True)
class RateLimitSettings:
    """Request rates in Flask-Limiter's notation ("600/minute", "10/second;600/hour"); "" is no limit."""

    intake: str = "600/minute"          # INTAKE_RATE_LIMIT: per integration key, all intake endpoints
    api: str = "1200/minute"            # API_RATE_LIMIT: per API key on /api/v1
    login_account: str = "30/minute"    # LOGIN_RATE_LIMIT: failed sign-ins per account (e-mail)
    login_ip: str = "100/minute"        # LOGIN_IP_RATE_LIMIT: failed sign-ins per client address
    # RATELIMIT_STORAGE_URL; None: the broker's Redis when it is redis://, else each process's memory
    storage_url: str | None = field(default=None, repr=False)
    key_prefix: str = "vigil"           # names Vigil's counters in a shared Redis


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
    # VIGIL_ENCRYPTION_KEYS: Fernet keys, newest first; () means a key derived from SECRET_KEY.
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    slack: SlackSettings | None = None
    twilio: TwilioSettings | None = None
    smtp: SmtpSettings | None = None
    console: ConsoleSettings = ConsoleSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    metrics_token: str | None = field(default=None, repr=False)  # METRICS_TOKEN: /metrics beyond loopback
    log_format: str = "text"  # LOG_FORMAT: text | json (one JSON object per line)

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
    public_url = _public_url(env.get("PUBLIC_URL"))
    return Config(
        database_url=_database_url(env.get("DATABASE_URL"), instance),
        broker_url=_broker_url(env.get("CELERY_BROKER_URL"), instance),
        secret_key=_secret_key(env.get("SECRET_KEY"), instance),
        public_url=public_url,
        instance_path=instance,
        max_content_length=_positive_int(env, "MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
        engine_tick_seconds=_seconds(env, "ENGINE_TICK_SECONDS", 1.0),
        sms_per_minute=_positive_int(env, "SMS_PER_MINUTE", 3),
        encryption_keys=_encryption_keys(env.get("VIGIL_ENCRYPTION_KEYS")),
        slack=_slack(env),
        twilio=_twilio(env),
        smtp=_smtp(env.get("SMTP_URL"), public_url),
        console=_console(env),
        rate_limits=_rate_limits(env),
        metrics_token=_metrics_token(env.get("METRICS_TOKEN")),
        log_format=_log_format(env.get("LOG_FORMAT")),
    )


def _metrics_token(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) < 16 or not value.isascii() or not value.isprintable() or " " in value:
        raise ConfigError("METRICS_TOKEN: must be at least 16 printable characters without spaces")
    return value


def _log_format(value: str | None) -> str:
    if not value:
        return "text"
    if value.lower() not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT: expected text or json, got {value!r}")
    return value.lower()


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


def _console(env) -> ConsoleSettings:
    return ConsoleSettings(
        password_max_age_days=_bounded_int(env, "PASSWORD_MAX_AGE_DAYS", 30, 0, 3650),
        session_idle_minutes=_bounded_int(env, "SESSION_IDLE_MINUTES", 60, 1, 24 * 60),
        session_max_hours=_bounded_int(env, "SESSION_MAX_HOURS", 12, 1, 24 * 30),
        trusted_proxy_hops=_bounded_int(env, "TRUSTED_PROXY_HOPS", 0, 0, 5),
    )


def _rate_limits(env) -> RateLimitSettings:
    return RateLimitSettings(
        intake=_rate(env, "INTAKE_RATE_LIMIT", RateLimitSettings.intake),
        api=_rate(env, "API_RATE_LIMIT", RateLimitSettings.api),
        login_account=_rate(env, "LOGIN_RATE_LIMIT", RateLimitSettings.login_account),
        login_ip=_rate(env, "LOGIN_IP_RATE_LIMIT", RateLimitSettings.login_ip),
        storage_url=_ratelimit_storage_url(env.get("RATELIMIT_STORAGE_URL")),
    )


def _rate(env, name: str, default: str) -> str:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if raw.lower() == "off":
        return ""
    from limits import parse_many  # the parser Flask-Limiter applies to the same string

    try:
        items = parse_many(raw)
    except ValueError:
        items = []
    if not items or any(item.amount < 1 for item in items):
        raise ConfigError(f"{name}: expected a rate like 600/minute (or 10/second;600/hour, or off), got {raw!r}")
    return raw


def _ratelimit_storage_url(value: str | None) -> str | None:
    if not value:
        return None
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in ("redis", "rediss", "memory"):  # never the rest of the value: it may hold a password
        raise ConfigError(f"RATELIMIT_STORAGE_URL: unsupported scheme {scheme or '(none)'!r}; "
                          "expected redis://host:6379/0 or memory://")
    return value


def _bounded_int(env, name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}, got {raw!r}")
    return number


_SMTP_FORMAT = "smtp://[user[:password]@]host[:port][?from=…&starttls=true&timeout=10] or smtps://…"
_SMTP_PARAMS = ("from", "starttls", "timeout")
_SMTP_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _smtp(value: str | None, public_url: str) -> SmtpSettings | None:
    """SMTP_URL. Errors quote a part of the value only when it holds no password."""
    if not value:
        return None
    rest = value.partition("://")[2]
    shown = _smtp_shown(rest)
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in ("smtp", "smtps"):
        named = scheme if scheme.replace("+", "").isalnum() else "(none)"  # never a piece of a password
        raise ConfigError(f"SMTP_URL: unsupported scheme {named!r}; expected {_SMTP_FORMAT}")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ConfigError("SMTP_URL: expected host[:port] with a port from 1 to 65535"
                          f"{_smtp_got(rest, shown)}") from None
    if not parts.hostname or port == 0 or parts.path not in ("", "/") or parts.fragment:
        raise ConfigError(f"SMTP_URL: expected {_SMTP_FORMAT}{_smtp_got(value, shown)}")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if bool(user) != bool(password):
        raise ConfigError("SMTP_URL: give both a user name and a password (smtp://user:password@host), or neither")
    params = _smtp_params(parts.query, shown)
    implicit_tls = scheme == "smtps"
    starttls = _smtp_flag(params.get("starttls"), shown)
    if implicit_tls and starttls:
        raise ConfigError("SMTP_URL: starttls=true does not go with smtps://, which is encrypted from the start")
    if user and not (implicit_tls or starttls or _smtp_is_local(parts.hostname)):
        raise ConfigError(f"SMTP_URL: the password would cross the network unencrypted to {parts.hostname}; "
                          "use smtps:// or ?starttls=true")
    return SmtpSettings(
        host=parts.hostname, port=port or (465 if implicit_tls else 587 if starttls else 25),
        from_address=_smtp_from(params.get("from"), public_url, shown), user=user, password=password,
        implicit_tls=implicit_tls, starttls=starttls, timeout=_smtp_timeout(params.get("timeout"), shown))


def _smtp_shown(rest: str) -> bool:
    """Whether the value after "://" can be quoted in an error: not when it may hold a password."""
    userinfo, at, _ = rest.partition("@")
    return not (at and ":" in userinfo)


def _smtp_params(query: str, shown: bool) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, raw in parse_qsl(query, keep_blank_values=True):
        if name not in _SMTP_PARAMS:
            named = f" {name!r}" if shown else ""
            raise ConfigError(f"SMTP_URL: unknown parameter{named}; expected one of {', '.join(_SMTP_PARAMS)}")
        if name in params:
            raise ConfigError(f"SMTP_URL: {name} given twice")
        params[name] = raw
    return params


def _smtp_got(raw: str, shown: bool) -> str:
    return f", got {raw!r}" if shown else ""


def _smtp_flag(raw: str | None, shown: bool) -> bool:
    if raw is None:
        return False
    if raw.lower() not in _SMTP_FLAGS:
        raise ConfigError(f"SMTP_URL: starttls must be true or false{_smtp_got(raw, shown)}")
    return _SMTP_FLAGS[raw.lower()]


def _smtp_timeout(raw: str | None, shown: bool) -> float:
    if raw is None:
        return 10.0
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigError(f"SMTP_URL: timeout: expected a number of seconds{_smtp_got(raw, shown)}") from None
    if not 0.1 <= seconds <= 600:
        raise ConfigError(f"SMTP_URL: timeout must be between 0.1 and 600 seconds{_smtp_got(raw, shown)}")
    return seconds


def _smtp_from(raw: str | None, public_url: str, shown: bool) -> str:
    """The From address: ?from=, else vigil@ the host of PUBLIC_URL (an IP as a domain literal)."""
    if raw is None:
        host = urlsplit(public_url).hostname or "localhost"
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return f"vigil@{host}"
        return f"vigil@[{ip}]" if ip.version == 4 else f"vigil@[IPv6:{ip}]"
    address = parseaddr(raw)[1]
    local, at, domain = address.rpartition("@")
    if "\r" in raw or "\n" in raw or not (local and at and domain) or any(c.isspace() for c in address):
        raise ConfigError(f"SMTP_URL: from must be an address like vigil@example.com{_smtp_got(raw, shown)}")
    return raw


def _smtp_is_local(host: str) -> bool:
    """A server on this machine (a relay, a test sink): no network to cross."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def _encryption_keys(value: str | None) -> tuple[str, ...]:
    """VIGIL_ENCRYPTION_KEYS: comma-separated Fernet keys, newest first. Errors say which key is
    wrong by its position, never by its value."""
    if not value or not value.strip():
        return ()
    keys = tuple(k.strip() for k in value.split(","))
    for position, key in enumerate(keys, 1):
        try:
            ok = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
        except (binascii.Error, ValueError, UnicodeError):
            ok = False
        if not ok:
            raise ConfigError(f"VIGIL_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a Fernet key "
                              "(32 url-safe base64-encoded bytes; make one with `vigil rotate-key --new-key`)")
    if len(set(keys)) != len(keys):
        raise ConfigError("VIGIL_ENCRYPTION_KEYS: a key is listed twice")
    return keys


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
