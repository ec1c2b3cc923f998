"""Settings come from the environment; a bad one is named in one line, never a traceback."""
import subprocess
import sys

import pytest

import config


def test_defaults_need_no_server(tmp_path):
    cfg = config.load({"VIGIL_INSTANCE_PATH": str(tmp_path)})
    assert cfg.database_url == f"sqlite:///{tmp_path / 'vigil.db'}"
    assert cfg.broker_url.startswith("sqla+sqlite:///")
    assert cfg.public_url == "http://127.0.0.1:5000"
    assert cfg.max_content_length == 1024 * 1024


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = config.load({"VIGIL_INSTANCE_PATH": str(tmp_path)}).secret_key
    second = config.load({"VIGIL_INSTANCE_PATH": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    other = config.load({"VIGIL_INSTANCE_PATH": str(tmp_path / "other")}).secret_key
    assert other != first


def test_secret_key_is_not_in_repr(tmp_path):
    cfg = config.load({"VIGIL_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s" * 40})
    assert "s" * 40 not in repr(cfg)


@pytest.mark.parametrize("name, value, message", [
    ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: unsupported scheme 'mysql'"),
    ("DATABASE_URL", "postgres://u@h/db", "DATABASE_URL: use the psycopg driver"),
    ("CELERY_BROKER_URL", "kafka://x", "CELERY_BROKER_URL: unsupported scheme 'kafka'"),
    ("SECRET_KEY", "short", "SECRET_KEY: must be at least 32 characters"),
    ("PUBLIC_URL", "vigil.example", "PUBLIC_URL: expected http(s)://host[:port]"),
    ("MAX_CONTENT_LENGTH", "1MB", "MAX_CONTENT_LENGTH: expected a whole number"),
    ("MAX_CONTENT_LENGTH", "-1", "MAX_CONTENT_LENGTH: must be positive"),
])
def test_bad_settings_are_named(tmp_path, name, value, message):
    with pytest.raises(config.ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        config.load({"VIGIL_INSTANCE_PATH": str(tmp_path), name: value})


def test_cli_prints_one_line_for_a_bad_setting(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "VIGIL_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "mysql://x/y"}
    result = subprocess.run([sys.executable, "-m", "incidents.cli", "db", "upgrade"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "vigil: configuration error: DATABASE_URL: unsupported scheme 'mysql'; "
        "expected postgresql+psycopg://… or sqlite:///path"]


def test_providers_are_off_until_configured_and_half_a_configuration_is_named(tmp_path):
    base = {"VIGIL_INSTANCE_PATH": str(tmp_path)}
    cfg = config.load(base)
    assert cfg.slack is None and cfg.twilio is None
    with pytest.raises(config.ConfigError, match="^TWILIO_FROM_NUMBER: required when Twilio is configured"):
        config.load({**base, "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"})
    with pytest.raises(config.ConfigError, match="^SLACK_SIGNING_SECRET: required when Slack"):
        config.load({**base, "SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(config.ConfigError, match="^TWILIO_FROM_NUMBER: expected an E.164 number"):
        config.load({**base, "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "555"})
    cfg = config.load({**base, "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "secret-token",
                       "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_URL": "http://127.0.0.1:9/"})
    assert cfg.twilio.api_url == "http://127.0.0.1:9" and "secret-token" not in repr(cfg)
    with pytest.raises(config.ConfigError, match="^ENGINE_TICK_SECONDS: must be between"):
        config.load({**base, "ENGINE_TICK_SECONDS": "0"})


def _smtp(tmp_path, url, **env):
    return config.load({"VIGIL_INSTANCE_PATH": str(tmp_path), "SMTP_URL": url, **env}).smtp


def test_smtp_url_is_off_until_set(tmp_path):
    assert config.load({"VIGIL_INSTANCE_PATH": str(tmp_path)}).smtp is None
    assert _smtp(tmp_path, "") is None


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.example.com", dict(port=25, starttls=False, implicit_tls=False, user=None, timeout=10.0)),
    ("smtp://mail.example.com?starttls=true", dict(port=587, starttls=True, implicit_tls=False)),
    ("smtps://mail.example.com", dict(port=465, starttls=False, implicit_tls=True)),
    ("smtp://mail.example.com:2525?starttls=yes&timeout=2.5", dict(port=2525, starttls=True, timeout=2.5)),
    ("smtps://apikey:s%3Acr%40t%2Fpw@smtp.example.com:4650",
     dict(port=4650, user="apikey", password="s:cr@t/pw", host="smtp.example.com")),
    ("smtp://relay%40corp:pw@127.0.0.1:1025", dict(user="relay@corp", password="pw", starttls=False)),
    ("smtp://MAIL.Example.COM?from=Vigil+%3Calerts%40example.com%3E",
     dict(host="mail.example.com", from_address="Vigil <alerts@example.com>")),
])
def test_smtp_url_is_parsed(tmp_path, url, expected):
    smtp = _smtp(tmp_path, url, PUBLIC_URL="https://vigil.example.com")
    assert {key: getattr(smtp, key) for key in expected} == expected


def test_smtp_from_defaults_to_the_public_host(tmp_path):
    assert _smtp(tmp_path, "smtp://mail.example.com", PUBLIC_URL="https://vigil.example.com:8443/").from_address \
        == "vigil@vigil.example.com"
    assert _smtp(tmp_path, "smtp://mail.example.com").from_address == "vigil@[127.0.0.1]"  # PUBLIC_URL's default


@pytest.mark.parametrize("url, message", [
    ("mail.example.com", "SMTP_URL: unsupported scheme '(none)'; expected smtp://[user[:password]@]host[:port]"),
    ("http://mail.example.com", "SMTP_URL: unsupported scheme 'http'"),
    ("smtp://", "SMTP_URL: expected smtp://[user[:password]@]host[:port]"),
    ("smtp://mail.example.com/inbox", "SMTP_URL: expected smtp://"),
    ("smtp://mail.example.com:smtp", "SMTP_URL: expected host[:port] with a port from 1 to 65535, got 'mail.example.com:smtp'"),
    ("smtp://mail.example.com:70000", "SMTP_URL: expected host[:port] with a port from 1 to 65535"),
    ("smtp://mail.example.com:0", "SMTP_URL: expected smtp://"),
    ("smtp://mail.example.com?tls=1", "SMTP_URL: unknown parameter 'tls'; expected one of from, starttls, timeout"),
    ("smtp://mail.example.com?timeout=1&timeout=2", "SMTP_URL: timeout given twice"),
    ("smtp://mail.example.com?starttls=maybe", "SMTP_URL: starttls must be true or false, got 'maybe'"),
    ("smtps://mail.example.com?starttls=true", "SMTP_URL: starttls=true does not go with smtps://"),
    ("smtp://mail.example.com?timeout=soon", "SMTP_URL: timeout: expected a number of seconds, got 'soon'"),
    ("smtp://mail.example.com?timeout=0", "SMTP_URL: timeout must be between 0.1 and 600 seconds, got '0'"),
    ("smtp://mail.example.com?from=vigil", "SMTP_URL: from must be an address like vigil@example.com, got 'vigil'"),
    ("smtp://mail.example.com?from=a%40b.example%0ABcc:%20x%40y", "SMTP_URL: from must be an address"),
    ("smtp://vigil@mail.example.com", "SMTP_URL: give both a user name and a password"),
])
def test_bad_smtp_url_is_named_in_one_line(tmp_path, url, message):
    with pytest.raises(config.ConfigError) as caught:
        _smtp(tmp_path, url)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


@pytest.mark.parametrize("url", [
    "smtp://vigil:Sup3rSecret@mail.example.com",  # would be sent in clear text
    "smtps://vigil:Sup3rSecret@mail.example.com:99999",
    "smtps://vigil:Sup3rSecret@mail.example.com?tls=1",
    "smtps://vigil:Sup3rSecret@mail.example.com?timeout=Sup3rSecret",
    "smtps://vigil:Sup3rSecret@mail.example.com?from=Sup3rSecret",
    "smtps://vigil:Sup3rSecret@mail.example.com/Sup3rSecret",
    "smtps://vigil:Sup3r/Secret@mail.example.com",  # an unescaped "/" ends the host part early
    "smtps://vigil:Sup3r?Secret@mail.example.com",
    "smtps://:Sup3rSecret@mail.example.com",
    "https://vigil:Sup3rSecret@mail.example.com",
])
def test_smtp_password_is_never_in_an_error(tmp_path, url):
    with pytest.raises(config.ConfigError, match="^SMTP_URL: ") as caught:
        _smtp(tmp_path, url)
    assert "Sup3r" not in str(caught.value) and "Secret" not in str(caught.value)


def test_smtp_password_is_not_in_repr_and_crosses_no_network_in_clear(tmp_path):
    cfg = config.load({"VIGIL_INSTANCE_PATH": str(tmp_path), "SMTP_URL": "smtps://vigil:Sup3rSecret@mail.example.com"})
    assert cfg.smtp.password == "Sup3rSecret" and "Sup3rSecret" not in repr(cfg)
    with pytest.raises(config.ConfigError, match="^SMTP_URL: the password would cross the network unencrypted "
                                                 "to mail.example.com; use smtps:// or"):
        _smtp(tmp_path, "smtp://vigil:pw@mail.example.com:587")
    assert _smtp(tmp_path, "smtp://vigil:pw@localhost:1025").user == "vigil"  # a relay on this machine
