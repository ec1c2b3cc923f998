"""`vigil up`: migrations, web server, Celery worker and beat, in one command."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib import resources

from urllib.parse import urlsplit

import click
from sqlalchemy import func, select

from incidents import clock, migrate
from incidents.cli import load_config, main

ACCESS_LOG = "incidents.web.access_log.AccessLog"
from incidents.cli.session import command_session
from incidents.domain.playbook import BREACH_CATEGORY

SAMPLE = "vigil.yaml"
SAMPLE_ACTOR = "sample data"
# Opened on a fresh database so the console has something to show: one of each class, through the
# same services real alerts and reports use (classified by the sample's rules, paged by its policy).
SAMPLE_ALERT = {"summary": "Checkout API unreachable from the eu-west probe", "source": "sample blackbox probe",
                "severity": "critical", "dedup_key": "sample-checkout-probe",
                "details": {"probe": "https://checkout.acme.example/health", "failed_checks": 5}}
SAMPLE_REPORTS = [
    {"title": "Order history page is slow to load", "customer_slug": "acme", "service_name": "checkout",
     "description": "Several customers say the order history page takes over 10 seconds since this morning."},
    # Class 1 security_breach by the sample's first rule ("unauthorized access"): the regulator's
    # 72 h clock starts, and an admin can start the breach playbook from its page.
    {"title": "Unauthorized access to the Acme admin panel from an unknown address", "customer_slug": "acme",
     "service_name": "checkout",
     "description": "The admin panel's audit log shows an administrator session from 203.0.113.7, an address "
                    "nobody at Acme recognises, exporting the customer list at 02:14 UTC."},
    {"title": "Delivery report shows the wrong sender name", "customer_slug": "globex",
     "service_name": "messaging",
     "description": "The monthly delivery report lists messages from the marketing account as sent by "
                    "'globex-test'."},
]


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
        _open_sample_incidents(config)
    sign_in = _first_admin(config, sample=sample)
    _check_public_url(config.public_url, host, port)
    from incidents.services import metrics
    env = {**os.environ, "VIGIL_INSTANCE_PATH": str(config.instance_path),
           **metrics.fresh_multiprocess_dir(config.instance_path)}  # /metrics adds up web and worker
    web = [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"{host}:{port}",
           "--workers", str(web_workers), "--threads", "4", "--access-logfile", "-",
           # Path without the query string: an intake key passed as ?key= must not reach the log.
           "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
           "--logger-class", ACCESS_LOG]
    worker = [sys.executable, "-m", "celery", "-A", "workers.main", "worker",
              "--beat", "--schedule", str(config.instance_path / "celerybeat-schedule"),
              "--loglevel", "INFO", "--concurrency", "2"]
    # Own sessions: a Ctrl-C reaches only this supervisor, which stops the children in order.
    children = [subprocess.Popen(cmd, env=env, start_new_session=True) for cmd in (web, worker)]
    click.echo(f"vigil: serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs); Ctrl-C stops")
    click.echo(sign_in)
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


def _open_sample_incidents(config) -> None:
    """A class 1 alert, then reports of class 2, class 1 (a security breach) and class 3, when the
    database has no incidents yet."""
    from alerts import services as intake
    from alerts.sources import generic
    from incidents.domain.enums import IntegrationType, Source
    from incidents.models import Incident, Integration, Service
    from incidents.services import incidents
    from incidents.services.actor import Actor
    from incidents.services.errors import ServiceError

    with command_session(config) as session:
        if session.scalar(select(func.count()).select_from(Incident)):
            return
        opened = []
        integration = session.scalars(
            select(Integration).join(Service, Service.id == Integration.service_id)
            .where(Integration.type == IntegrationType.GENERIC.value, Integration.revoked_at.is_(None))
            .order_by(Service.name, Integration.id)).first()
        if integration is not None:
            [outcome] = intake.ingest(session, integration=integration, alerts=[generic.parse(SAMPLE_ALERT)])
            opened.append(outcome.incident_id)
        for report in SAMPLE_REPORTS:
            try:
                opened.append(incidents.report(session, **report, actor=Actor(SAMPLE_ACTOR),
                                               source=Source.SYSTEM).id)
            except ServiceError as exc:  # the sample's customers or services were changed meanwhile
                click.echo(f"vigil: sample report {report['title']!r} not opened: {exc.message}", err=True)
        rows = session.execute(select(Incident.id, Incident.severity_class, Incident.title, Incident.category)
                               .where(Incident.id.in_(opened)).order_by(Incident.severity_class, Incident.id)).all()
        session.commit()  # the worker's sweeps find the pages these incidents need
    if rows:
        click.echo("Opened sample incidents:")
        for number, severity_class, title, _ in rows:
            click.echo(f"  #{number} class {severity_class}: {title}")
    breach = next((number for number, _, _, category in rows if category == BREACH_CATEGORY), None)
    if breach is not None:
        click.echo(_breach_hint(config, breach))


def _breach_hint(config, number: int) -> str:
    """Where the breach playbook starts, and what its notices need to reach anyone."""
    hint = (f"\nThe security breach #{number} has the regulator's 72 h clock running; an admin starts the breach "
            f"playbook from its page,\n  {config.public_url}/incidents/{number}\n")
    if config.smtp is None or config.twilio is None:
        hint += ("Its customer notices go by e-mail (SMTP_URL) and SMS (TWILIO_*); to catch them locally, run\n"
                 "  .venv/bin/python -m tests.fakes   (in the repository: a fake Twilio and an SMTP sink; it prints "
                 "the settings)\n")
    return hint


def _first_admin(config, *, sample: bool) -> str:
    """How to sign in: a one-time link for the sample's first admin while no admin has a password,
    otherwise how to create an admin, or where to sign in."""
    from incidents.domain.enums import Role
    from incidents.models import User
    from incidents.services import audit
    from incidents.services.accounts import tokens, users
    from incidents.services.actor import Actor

    with command_session(config) as session:
        admins = session.scalars(select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
                                 .order_by(User.id)).all()
        if any(admin.password_hash for admin in admins):
            return f"Sign in at {config.public_url}/login"
        if not (sample and admins):
            return ("No admin can sign in yet. Create the first one (you are asked for a password):\n"
                    "  vigil create-user EMAIL --role admin")
        email = admins[0].email
        _, token = users.invite(session, email=email, role=Role.ADMIN.value, name=None,
                                actor=Actor("command line"), where=audit.Where("cli"), now=clock.now())
        session.commit()
    rule = "=" * 78
    return (f"\n{rule}\nSign in as the first admin: open {config.public_url}/invite/{token} to choose a "
            f"password (works once, {tokens.LIFETIME['invite'].days} days)\n"
            f"That is {email} from the sample; you then set up a second factor with an authenticator app.\n"
            f"{rule}\n")


def _check_public_url(public_url: str, host: str, port: int) -> None:
    """Links Vigil prints and mails are built on PUBLIC_URL: say so when it points at another local port."""
    parts = urlsplit(public_url)
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if parts.hostname in ("127.0.0.1", "localhost") and (parts.port or 80) != port:
        click.echo(f"vigil: note: PUBLIC_URL is {public_url} but this server listens on port {port}; links "
                   f"point there. Set PUBLIC_URL=http://{local}:{port} to match.", err=True)


def _redact(url: str) -> str:
    """A URL fit for a log line: no password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url
