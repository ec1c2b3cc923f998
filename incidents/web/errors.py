"""Every error is JSON {"error": {"code", "message"}} (an HTML page in the console); nothing
reaches a bare 500."""
from __future__ import annotations

import logging

from apiflask import APIFlask, HTTPError
from flask import current_app, request
from werkzeug.exceptions import HTTPException
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from incidents.services.sealed import SealError
from incidents.services.errors import ServiceError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "invalid", 429: "rate_limited", 500: "internal",
    503: "unavailable",
}
RETRY_AFTER_SECONDS = 5


def error_body(status: int, message: str, **extra) -> dict:
    return {"error": {"code": CODES.get(status, "error"), "message": message, **extra}}


API_PREFIXES = ("/api/", "/v2/", "/healthz", "/readyz", "/hooks/")


def wants_html() -> bool:
    """Console pages (and unknown paths a browser wandered to) get an HTML page, not JSON."""
    if request.blueprint:
        return request.blueprint == "console"
    return not request.path.startswith(API_PREFIXES)


def answer(status: int, message: str, headers=None, **extra):
    if wants_html():
        from incidents.web.console.templating import render_error
        body, status = render_error(status, message)
        return body, status, headers or {}
    return error_body(status, message, **extra), status, headers or {}


def register(app: APIFlask) -> None:
    @app.error_processor
    def http_error(error: HTTPError):
        message = error.message
        if error.status_code == 422 and isinstance(error.detail, dict):
            message = _validation_message(error.detail) or message
        extra = {"detail": error.detail} if error.detail else {}
        return error_body(error.status_code, message, **extra), error.status_code, error.headers

    @app.errorhandler(HTTPException)
    def werkzeug_error(error: HTTPException):
        # APIFlask's own handler drops the description, which says what was wrong with the request.
        headers = {k: v for k, v in error.get_headers() if k != "Content-Type"}
        return answer(error.code, _describe(error), headers)

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return answer(error.status, error.message)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        # The database is down or overloaded: tell senders to retry rather than lose the alert.
        log.error("database unavailable: %s", error.__class__.__name__)
        return answer(503, "the database is unavailable; retry shortly", {"Retry-After": str(RETRY_AFTER_SECONDS)})

    @app.errorhandler(SealError)
    def sealed_unreadable(error: SealError):
        # The server's keys cannot open a stored secret (VIGIL_ENCRYPTION_KEYS lost a key): the
        # request is fine, the server is not; say so without a 500 and without the value.
        log.error("a sealed secret cannot be opened with the configured keys: %s", error)
        return answer(503, "Vigil cannot read a stored secret with its encryption keys; an admin must restore "
                           "the missing key in VIGIL_ENCRYPTION_KEYS (or reset the affected second factor)")

    @app.errorhandler(DataError)
    def value_rejected(error: DataError):
        log.warning("database rejected a value: %s", error.orig.__class__.__name__)
        return answer(400, "a value was rejected by the database (out of range or malformed)")

    @app.errorhandler(IntegrityError)
    def integrity_conflict(error: IntegrityError):
        log.warning("integrity conflict: %s", error.orig.__class__.__name__)
        return answer(409, "the change conflicts with existing data; retry")


def _describe(error: HTTPException) -> str:
    if error.code == 400 and error.__class__.__name__ == "CSRFError":
        return "The form was not sent from this page of Vigil, or it expired. Reload the page and try again."
    if error.code == 413:
        return f"the body is larger than the limit of {current_app.config['MAX_CONTENT_LENGTH']} bytes"
    return error.description or error.name


def _validation_message(detail: dict) -> str | None:
    """'summary: Missing data for required field.' from APIFlask's nested validation detail."""
    for location in detail.values():
        if isinstance(location, dict):
            for field, messages in location.items():
                text = messages[0] if isinstance(messages, list) and messages else messages
                if isinstance(text, dict):
                    return f"{field}: invalid"
                return f"{field}: {text}"
    return None
