"""The `vigil` command line."""
from __future__ import annotations

import sys

import click

import config as settings


def load_config() -> settings.Config:
    """Settings, or one line naming the bad one and exit status 2 (no traceback)."""
    try:
        return settings.load()
    except settings.ConfigError as exc:
        click.echo(f"vigil: configuration error: {exc}", err=True)
        sys.exit(2)


@click.group()
@click.version_option(package_name="vigil")
def main() -> None:
    """Vigil: incidents, on-call paging and SLA clocks."""


from incidents.cli import apply_cmd, audit_cmd, backup_cmd, db_cmd, keys_cmd, rotate_key_cmd, up_cmd, users_cmd  # noqa: E402,F401  (register commands)
from incidents.cli import doctor_cmd  # noqa: E402,F401  (vigil doctor)
