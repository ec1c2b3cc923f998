"""Keys from the command line: API keys, and new keys for integrations whose key was lost."""
import click
from sqlalchemy import select

from incidents.cli import load_config, main
from incidents.cli.session import command_session
from incidents.domain.enums import Scope
from incidents import clock
from incidents.services import api_keys, audit, heartbeats, integrations
from incidents.services.actor import Actor
from incidents.services.errors import ServiceError


@main.command("create-api-key")
@click.option("--name", required=True, help="What uses the key, e.g. 'grafana-reader'.")
@click.option("--scope", required=True, type=click.Choice([s.value for s in Scope]))
@click.option("--customer", default=None, metavar="SLUG",
              help="Limit the key to this customer's incidents and reports (scope read only).")
def create_api_key(name: str, scope: str, customer: str | None) -> None:
    """Create an API key; the key is printed once, as the last line."""
    config = load_config()
    with command_session(config) as session:
        try:
            row, key = api_keys.create(session, name=name, scope=scope, customer=customer,
                                       actor=Actor("command line"), where=audit.Where("cli"))
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
        limited = f", customer {customer}" if customer else ""
        click.echo(f"Created API key {row.name!r} (scope {row.scope}{limited}). Store it now; "
                   "it is not shown again:", err=True)
        click.echo(key)


@main.command("rotate-integration-key")
@click.argument("service")
@click.argument("integration")
def rotate_integration_key(service: str, integration: str) -> None:
    """Give an integration a new key (the old one stops working); prints the key as the last line."""
    config = load_config()
    with command_session(config) as session:
        try:
            row, key = integrations.rotate_key(session, service_name=service, name=integration,
                                               actor=Actor("command line"), where=audit.Where("cli"))
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
        click.echo(f"New key for {service}/{integration} ({row.type}); post to "
                   f"{integrations.intake_url(config.public_url, row.type)}", err=True)
        click.echo(key)


@main.command("rotate-heartbeat-key")
@click.argument("name")
def rotate_heartbeat_key(name: str) -> None:
    """Give a heartbeat a new key (the old one stops working); prints the ping URL as the last line."""
    config = load_config()
    with command_session(config) as session:
        try:
            row, key = heartbeats.rotate_key(session, name=name, actor=Actor("command line"),
                                             where=audit.Where("cli"), now=clock.now())
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
        click.echo(f"New key for heartbeat {row.name}; the job pings (POST or GET) this URL, which holds "
                   "the key:", err=True)
        click.echo(heartbeats.ping_url(config.public_url, key))
