"""`vigil db upgrade`: bring the database schema to the latest migration."""
import click
from sqlalchemy.exc import OperationalError

from incidents import migrate
from incidents.cli import load_config, main


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration."""
    config = load_config()
    try:
        migrate.upgrade(config.database_url)
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {exc.orig}") from None
    click.echo("database is up to date")
