"""`vigil backup` and `vigil restore`: a consistent copy of the database, and putting one back."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from incidents import clock, migrate
from incidents.cli import load_config, main
from incidents.cli.session import command_session
from incidents.services import audit
from incidents.services import backup as backups
from incidents.services.actor import Actor


@main.command("backup")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: vigil-<UTC time>.db or .dump in this directory).")
def backup_command(output: Path | None) -> None:
    """Copy the database to a file while Vigil keeps running (SQLite: online backup; PostgreSQL: pg_dump)."""
    config = load_config()
    url = config.database_url
    kind = backups.kind_of(url)
    output = output or Path(f"vigil-{clock.now():%Y%m%dT%H%M%SZ}.{'db' if kind == 'sqlite' else 'dump'}")
    click.echo(f"backing up {_shown(url)} to {output} ...")
    with _plain_errors():
        backups.backup(url, output)
        written = backups.read(output)  # a backup that cannot be read back is no backup
    if written.revision == backups.head_revision():  # an older schema has no room for the row
        _audit(config, "database.backed_up", str(output.resolve()), {"revision": written.revision})
    click.echo(f"backup written and checked: {output} ({_size(output)}, schema {written.revision})")


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace a database that already holds incidents.")
def restore_command(file: Path, yes: bool) -> None:
    """Replace the configured database with a backup's contents; an older schema is migrated up.

    Stop the web server and workers first: a restore replaces everything they see.
    """
    config = load_config()
    url = config.database_url
    with _plain_errors():
        source = backups.read(file)
        backups.check_kind(source, url)
        migrate_after = backups.older_than_head(source.revision)
        held = backups.count_rows(url)["incidents"]
        if held and not yes:
            raise click.ClickException(
                f"the database already holds {held} incidents and restoring replaces them all; "
                "nothing was changed. Run again with --yes to replace them")
        click.echo(f"restoring {file} ({backups.KINDS[source.kind]}, schema {source.revision}) "
                   f"into {_shown(url)} ...")
        backups.restore(url, source)
        if migrate_after:
            click.echo(f"migrating the schema from {source.revision} to {backups.head_revision()} ...")
            migrate.upgrade(url)
        counts = backups.count_rows(url)
    _audit(config, "database.restored", str(file.resolve()), {"revision": source.revision, **counts})
    click.echo(f"restored {counts['incidents']} incidents ({counts['incident_events']} timeline entries), "
               f"{counts['alerts']} alerts, {counts['users']} users")


@contextmanager
def _plain_errors():
    """One line for what went wrong, never a traceback."""
    try:
        yield
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {exc.orig}") from None


def _audit(config, action: str, target: str, details: dict) -> None:
    with command_session(config) as session:
        audit.record(session, actor=Actor("command line"), where=audit.Where("cli"), action=action,
                     target=target, now=clock.now(), details=details)
        session.commit()


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
