"""`vigil create-api-key` and `vigil rotate-integration-key`: the key printed once, the change audited."""
from __future__ import annotations

from click.testing import CliRunner

from incidents.cli import main
from incidents.models import AuditEvent


def _env(test_config):
    return {"DATABASE_URL": test_config.database_url, "VIGIL_INSTANCE_PATH": str(test_config.instance_path),
            "SECRET_KEY": test_config.secret_key}


def test_rotated_integration_key_works_and_the_old_one_stops(test_config, client, make, session):
    old = make.service().keys["generic"]
    result = CliRunner().invoke(main, ["rotate-integration-key", "checkout", "generic"], env=_env(test_config))
    assert result.exit_code == 0, result.output
    new = result.stdout.strip().splitlines()[-1]
    alert = {"summary": "disk full", "source": "cli-test", "severity": "warning"}
    assert client.post("/api/v1/alerts", json=alert, headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.post("/api/v1/alerts", json=alert, headers={"Authorization": f"Bearer {new}"}).status_code == 202
    row = session.query(AuditEvent).one()
    assert (row.door, row.actor) == ("cli", "command line") and new not in str(row.details)


def test_unknown_integration_is_one_clear_line(test_config, app):
    result = CliRunner().invoke(main, ["rotate-integration-key", "nope", "generic"], env=_env(test_config))
    assert result.exit_code == 1 and "Error:" in result.output and "Traceback" not in result.output
