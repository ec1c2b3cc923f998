"""`vigil audit verify`: check the audit trail's hash chain (an edited or removed row breaks it)."""
from __future__ import annotations

import sys

import click
from sqlalchemy import func, select

from incidents.cli import load_config, main
from incidents.cli.session import command_session
from incidents.models import AuditEvent
from incidents.services import audit as trail


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command()
def verify() -> None:
    """Check every row against its hash and the row before it; exit status 1 on any problem."""
    config = load_config()
    with command_session(config) as session:
        problems = trail.verify(session)
        rows = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    if problems:
        for problem in problems:
            click.echo(problem)
        click.echo(f"audit trail broken: {len(problems)} problem(s) in {rows} rows", err=True)
        sys.exit(1)
    click.echo(f"audit trail intact: {rows} rows")
