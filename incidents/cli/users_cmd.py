"""`vigil create-user`: the first admin (and anyone else) from the command line."""
from __future__ import annotations

import sys

import click

from incidents import clock
from incidents.cli import load_config, main
from incidents.cli.session import command_session
from incidents.domain.enums import Role
from incidents.services import audit
from incidents.services.accounts import users
from incidents.services.actor import Actor
from incidents.services.errors import ServiceError


@main.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default=None, help="Display name (default: from the e-mail).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
def create_user(email: str, role: str, name: str | None, password_stdin: bool) -> None:
    """Create a user who can sign in; the password is asked for (or read from stdin), never an argument.

    At the first sign-in the user sets up a second factor with an authenticator app.
    """
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    config = load_config()
    with command_session(config) as session:
        try:
            user = users.create(session, email=email, role=role, name=name, password=password,
                                actor=Actor("command line"), where=audit.Where("cli"), now=clock.now())
        except ServiceError as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
        click.echo(f"Created {user.email} ({user.role}). Sign in at {config.public_url}/login; "
                   "you will set up a second factor there.")
