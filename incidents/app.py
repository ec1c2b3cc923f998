"""The composition root: create_app(config) wires settings, database, doors and workers."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from apiflask import APIFlask
from flask import request
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

import config as settings
from incidents.db import make_engine, make_sessionmaker
from incidents.providers.email import mailer_from
from incidents.web import errors
from incidents.web.jsonbody import StrictJSONProvider, VigilRequest
from incidents.web.session import EXTENSION, close_session

VERSION = "0.1.0"
log = logging.getLogger(__name__)


@dataclass
class Database:
    engine: object
    sessionmaker: sessionmaker


def create_app(config: settings.Config | None = None) -> APIFlask:
    config = config or settings.load()
    from incidents.services.sealed import warn_at_start
    warn_at_start(config, log)  # VIGIL_ENCRYPTION_KEYS unset on PostgreSQL: say so
    app = APIFlask("incidents", title="Vigil", version=VERSION, spec_path="/api/openapi.json",
                   docs_path="/api/docs", instance_path=str(config.instance_path))
    app.request_class = VigilRequest
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)
    app.config.from_mapping(config.flask_settings())
    app.config["SPEC_FORMAT"] = "json"
    app.config["AUTO_404_RESPONSE"] = True
    app.config["VALIDATION_ERROR_STATUS_CODE"] = 422
    app.config["INFO"] = {"description": "Incident and SLA management: alerts and reports become "
                                         "classified incidents with response deadlines."}

    engine = make_engine(config.database_url)
    app.extensions[EXTENSION] = Database(engine, make_sessionmaker(engine))
    app.teardown_appcontext(close_session)
    errors.register(app)
    from incidents.web.openapi_schemas import describe_path_parameters
    describe_path_parameters(app)  # path ids in /api/openapi.json as the routes take them
    _security_headers(app)
    from incidents.web import metrics, request_log
    request_log.init_app(app, config.log_format)  # request ids and JSON logs (LOG_FORMAT)
    metrics.init_app(app)  # GET /metrics and the counts it serves

    from alerts.web import bp as intake_bp
    from incidents.web.api import bp as api_bp
    from incidents.web.api_keys import bp as api_keys_bp
    from incidents.web.health import bp as health_bp
    from incidents.web.reports_api import bp as reports_bp
    from incidents.web.rotations import bp as rotations_bp
    from incidents.web.sla_api import bp as sla_bp
    from incidents.web.slack_hooks import bp as slack_bp
    from incidents.web.twilio_hooks import bp as twilio_bp
    for bp in (health_bp, intake_bp, api_bp, api_keys_bp, rotations_bp, slack_bp, twilio_bp, reports_bp, sla_bp):
        app.register_blueprint(bp)
    from incidents.web.regulator_api import bp as regulator_bp
    app.register_blueprint(regulator_bp)
    from incidents.web.playbook_api import bp as playbook_bp
    app.register_blueprint(playbook_bp)
    from incidents.web.heartbeats_api import bp as heartbeats_bp
    from incidents.web.maintenance_api import bp as maintenance_bp
    app.register_blueprint(heartbeats_bp)
    app.register_blueprint(maintenance_bp)
    app.extensions["vigil.providers"] = _providers(config)
    app.extensions["vigil.mailer"] = mailer_from(config)

    from incidents.web import console
    console.init_app(app, config)
    from incidents.web import limits
    limits.init_app(app, config)

    from workers.celery_app import celery_init_app
    celery = celery_init_app(app, config)
    _send_after_commit(app.extensions[EXTENSION].sessionmaker, celery)
    return app


def _providers(config: settings.Config):
    """The real provider clients for what is configured; None for the rest."""
    from incidents.providers.slack_chat import SlackChat
    from incidents.providers.twilio_sms import TwilioSms
    from incidents.services.engine.sending import Providers

    sms = chat = None
    if config.twilio:
        sms = TwilioSms(config.twilio.account_sid, config.twilio.auth_token, config.twilio.from_number,
                        api_url=config.twilio.api_url)
    if config.slack:
        chat = SlackChat(config.slack.bot_token, api_url=config.slack.api_url)
    return Providers(sms=sms, chat=chat, public_url=config.public_url, sms_per_minute=config.sms_per_minute,
                     slack_channel=config.slack.channel if config.slack else None)


def _send_after_commit(factory: sessionmaker, celery) -> None:
    """Ring the broker's doorbell for work that a transaction created, once it is committed."""
    from incidents.services import after_commit

    @event.listens_for(factory, "after_commit")
    def send(session):
        for task, args in after_commit.take(session):
            try:
                celery.send_task(task, args=list(args))
            except Exception as exc:  # the broker is down: the engine's sweep finds the rows later
                log.warning("could not enqueue %s: %s", task, exc.__class__.__name__)

    @event.listens_for(factory, "after_rollback")
    def drop(session):
        after_commit.discard(session)


def _security_headers(app: APIFlask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith(("/api/v1", "/v2/")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
