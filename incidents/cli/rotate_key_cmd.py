"""`vigil rotate-key`: re-encrypt every stored secret under the newest key of VIGIL_ENCRYPTION_KEYS.

The order of a rotation: put a new key in front (VIGIL_ENCRYPTION_KEYS=new,old) on every process,
run this, then drop the old key. See README, "Secrets at rest".
"""
from __future__ import annotations

import sys

import click
from cryptography.fernet import Fernet

from incidents.cli import load_config, main
from incidents.cli.session import command_session
from incidents.services import rekey, sealed


@main.command("rotate-key")
@click.option("--new-key", is_flag=True, help="Print a fresh Fernet key to put first in VIGIL_ENCRYPTION_KEYS, "
                                              "and change nothing.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000),
              help="Rows re-encrypted per transaction.")
def rotate_key(new_key: bool, batch_size: int) -> None:
    """Re-encrypt TOTP secrets and stored secrets under the newest key; safe to run again."""
    if new_key:
        click.echo(Fernet.generate_key().decode("ascii"))
        return
    config = load_config()
    keys = sealed.keyring(config)
    warning = sealed.setup_warning(config)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    with command_session(config) as session:
        tallies = rekey.rotate(session, keys, batch_size=batch_size, progress=_progress)
    unopened = [problem for tally in tallies for problem in tally.unopened]
    for tally in tallies:
        click.echo(f"{tally.target}: {tally.resealed} re-encrypted, {tally.current} already under the newest key"
                   + (f", {len(tally.unopened)} cannot be opened" if tally.unopened else ""))
    if unopened:
        for problem in unopened:
            click.echo(problem, err=True)
        click.echo(f"{len(unopened)} value(s) could not be re-encrypted: keep every old key in "
                   "VIGIL_ENCRYPTION_KEYS until they are dealt with (a user's second factor can be reset).", err=True)
        sys.exit(1)
    click.echo(_done(config))


def _progress(tally: rekey.Tally) -> None:
    click.echo(f"  {tally.target}: {tally.checked} checked, {tally.resealed} re-encrypted", err=True)


def _done(config) -> str:
    older = len(config.encryption_keys) - 1
    if not config.encryption_keys:
        return "Every encrypted value is sealed with the key derived from SECRET_KEY."
    if older == 0:
        return "Every encrypted value is sealed with the one key in VIGIL_ENCRYPTION_KEYS."
    return (f"Every encrypted value is sealed with the newest key. It is now safe to remove the older "
            f"{'key' if older == 1 else f'{older} keys'} from VIGIL_ENCRYPTION_KEYS (keep only the first), "
            "on every process.")
