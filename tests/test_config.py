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
