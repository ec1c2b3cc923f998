"""`vigil doctor`: is this installation working? Configuration, database, broker, providers, public
address, engine, workers and beat, each with a verdict in plain words and what to do. Exit status 0
when every check passes, 1 otherwise (a monitoring job can run it)."""
from __future__ import annotations

import sys

import click

from incidents import clock
from incidents.cli import main
from incidents.cli import doctor_checks as checks

MARKS = {True: "ok  ", False: "FAIL", None: "--  "}


@main.command()
def doctor() -> None:
    """Check configuration, database, broker, providers and the engine; say what is wrong."""
    verdicts = list(run_checks(checks.environ()))
    for verdict in verdicts:
        click.echo(f"{MARKS[verdict.ok]}  {verdict.name}: {verdict.said}")
        if verdict.ok is False and verdict.todo:
            click.echo(f"      what to do: {verdict.todo}")
    failed = [v.name for v in verdicts if v.ok is False]
    if failed:
        click.echo(f"{len(failed)} problem(s): {', '.join(failed)}", err=True)
        sys.exit(1)
    click.echo("all checks passed")


def run_checks(environ):
    """Each verdict as it is reached; checks that need a working database or configuration are left
    out when those fail, since their answer would only repeat the first problem."""
    verdict, config = checks.configuration(environ)
    yield verdict
    if config is None:
        return
    database = checks.database(config)
    yield database
    broker = checks.broker(config)
    yield broker
    yield checks.smtp(config)
    yield checks.twilio(config)
    yield checks.slack(config)
    yield checks.public_url(config, environ)
    if not database.ok:
        return
    now = clock.now()
    engine, ticked, watched = checks.engine(config, now)
    yield engine
    if broker.ok:  # workers are asked through the broker
        yield checks.workers(config, ticked, now)
    yield checks.beat(ticked, watched, now)
