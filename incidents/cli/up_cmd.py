"""`vigil up`: migrations, web server, Celery worker and beat, in one command."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib import resources

import click

from incidents import migrate
from incidents.cli import load_config, main

SAMPLE = "vigil.yaml"


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--sample", is_flag=True, help="Load the sample configuration (customers, services, rules).")
@click.option("--web-workers", default=2, show_default=True, type=click.IntRange(1, 64))
def up(host: str, port: int, sample: bool, web_workers: int) -> None:
    """Start Vigil: bring the schema up to date, then serve the web app and run the worker."""
    config = load_config()
    click.echo(f"vigil: database {_redact(config.database_url)}; broker {_redact(config.broker_url)}")
    try:
        migrate.upgrade(config.database_url)
    except Exception as exc:  # a database we cannot reach or migrate: one line, no traceback
        raise click.ClickException(f"cannot migrate the database: {exc.__class__.__name__}: {exc}") from None
    if sample:
        _load_sample(config)
    env = {**os.environ, "VIGIL_INSTANCE_PATH": str(config.instance_path)}
    web = [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"{host}:{port}",
           "--workers", str(web_workers), "--threads", "4", "--access-logfile", "-",
           # Path without the query string: an intake key passed as ?key= must not reach the log.
           "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms']
    worker = [sys.executable, "-m", "celery", "-A", "workers.main", "worker",
              "--beat", "--schedule", str(config.instance_path / "celerybeat-schedule"),
              "--loglevel", "INFO", "--concurrency", "2"]
    # Own sessions: a Ctrl-C reaches only this supervisor, which stops the children in order.
    children = [subprocess.Popen(cmd, env=env, start_new_session=True) for cmd in (web, worker)]
    click.echo(f"vigil: serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs); Ctrl-C stops")
    sys.exit(_supervise(children))


def _supervise(children: list[subprocess.Popen]) -> int:
    """Wait until a signal or a child exits; then stop them all."""
    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                click.echo(f"vigil: {child.args[2]} exited with status {child.returncode}; stopping", err=True)
                status, stopping = child.returncode or 1, True
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return status


def _load_sample(config) -> None:
    from incidents.cli.apply_cmd import apply_path, print_result

    path = resources.files("incidents") / "sample" / SAMPLE
    with resources.as_file(path) as file:
        result = apply_path(config, str(file), prune=False)
    print_result(result, output="text")
    generic = [i for i in result.integrations if i["type"] == "generic"]
    if generic:
        first = generic[0]
        click.echo("\nFire a test alert (this key is shown only now):\n"
                   f"  curl -sS -X POST {first['url']} -H 'Authorization: Bearer {first['key']}' "
                   "-H 'Content-Type: application/json' "
                   "-d '{\"summary\": \"Checkout is down\", \"source\": \"curl\", \"severity\": \"critical\"}'\n"
                   f"Then list incidents: vigil create-api-key --name me --scope read, and\n"
                   f"  curl -sS {config.public_url}/api/v1/incidents -H 'Authorization: Bearer KEY'\n")
    else:
        click.echo("\nThe sample's integration keys were shown when first created. For a new one:\n"
                   "  vigil rotate-integration-key checkout scripts\n")


def _redact(url: str) -> str:
    """A URL fit for a log line: no password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url
