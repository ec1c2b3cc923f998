"""`vigil apply FILE`: configuration as code. Errors name their path in the file; nothing is half-applied."""
from __future__ import annotations

import json
import sys

import click
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from incidents.cli import load_config, main
from incidents.cli.session import command_session
from incidents.services.apply import ApplyFailed, ApplyResult, apply_document, read_document

OUTPUTS = ("text", "json")


class ApplyErrors(click.ClickException):
    """Every error on its own line on stderr, then a summary line; exit status 1."""

    exit_code = 1

    def __init__(self, path: str, errors: list[str]):
        super().__init__("; ".join(errors))
        self.path, self.errors = path, errors

    def show(self, file=None) -> None:
        for error in self.errors:
            click.echo(f"error: {error}", err=True)
        count = f"{len(self.errors)} error" + ("s" if len(self.errors) != 1 else "")
        click.echo(f"vigil apply: {count} in {self.path}; nothing was changed", err=True)


@main.command("apply")
@click.argument("file")
@click.option("--prune", is_flag=True,
              help="Also remove what the file leaves out: revoke integrations, deactivate users, "
                   "delete services and customers no incident refers to, and rotations and escalation "
                   "policies nothing uses.")
@click.option("--output", type=click.Choice(OUTPUTS), default="text", show_default=True,
              help="json: one JSON document on stdout (errors too, as {\"errors\": [...]}).")
def apply_command(file: str, prune: bool, output: str) -> None:
    """Create or update what FILE (vigil.yaml) describes; applying it twice changes nothing."""
    config = load_config()
    try:
        result = apply_path(config, file, prune=prune)
    except ApplyErrors as exc:
        if output != "json":
            raise
        click.echo(json.dumps({"errors": exc.errors}, indent=2))
        sys.exit(exc.exit_code)
    print_result(result, output)


def apply_path(config, path: str, *, prune: bool) -> ApplyResult:
    """Read, check and apply the file in one transaction; ApplyErrors when anything is wrong."""
    try:
        document = read_document(path)
        with command_session(config) as session:
            result = apply_document(session, document, prune=prune, public_url=config.public_url)
            session.commit()
    except ApplyFailed as exc:
        raise ApplyErrors(path, exc.errors) from None
    except SQLAlchemyError as exc:
        raise ApplyErrors(path, [_database_error(exc)]) from None
    return result


def _database_error(exc: SQLAlchemyError) -> str:
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    if isinstance(exc, IntegrityError):
        return f"database: {reason} (another change was made at the same time? run vigil apply again)"
    return f"database: {reason} (is the schema up to date? run: vigil db upgrade)"


def print_result(result: ApplyResult, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    width = max((len(section) for section in result.changes), default=0) + 2
    for section, counts in result.changes.items():
        summary = ", ".join(f"{n} {verb}" for verb, n in counts.items() if n) or "none"
        click.echo(f"{section + ':':<{width}}{summary}")
    click.echo("Applied." if result.changed else "Nothing changed.")
    if result.integrations:
        click.echo("\nNew integration keys (shown only now; store them safely):")
    for item in result.integrations:
        click.echo(f"  {item['service']}/{item['name']} ({item['type']})\n"
                   f"    url: {item['url']}\n"
                   f"    key: {item['key']}")
    if result.heartbeats:
        click.echo("\nNew heartbeat keys (shown only now; the job pings the url, which holds the key):")
    for item in result.heartbeats:
        click.echo(f"  {item['name']} on {item['service']}\n"
                   f"    url: {item['url']}")
