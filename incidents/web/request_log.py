"""Request ids and structured logs.

Every request gets an id: the caller's X-Request-Id when it is short and safe (letters, digits,
`.`, `_`, `-`, at most 64), else a fresh one. It is answered in the X-Request-Id header and is on
every log line written while the request runs, and on gunicorn's access line (access_log.py).

LOG_FORMAT=json makes the web's and the worker's logs one JSON object per line: time, level,
logger, message, request_id, plus the request's method, path, status, duration_ms and remote_addr
on access lines. LOG_FORMAT=text (the default, and what `vigil up` shows) keeps plain lines.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request

HEADER = "X-Request-Id"
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
FIELDS = "fields"  # a record attribute: extra key/values for the JSON line (`extra={"fields": {...}}`)
_HANDLER_NAME = "vigil.json"


def request_id_from(header: str | None) -> str:
    """The caller's id when it is safe to log and echo; a new one otherwise (pure but for uuid4)."""
    if header and SAFE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Puts the running request's id on each record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; an exception goes in `exception`, never across lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        line.update(getattr(record, FIELDS, None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def init_app(app: Flask, log_format: str) -> None:
    @app.before_request
    def assign_id():
        g.request_id = request_id_from(request.headers.get(HEADER))

    @app.after_request
    def echo_id(response):
        if "request_id" in g:
            response.headers[HEADER] = g.request_id
        return response

    if log_format == "json":
        use_json(logging.getLogger())
    _json_worker_logs(log_format)


def use_json(logger: logging.Logger, stream=None) -> logging.Handler:
    """Give `logger` a handler writing JSON lines to stderr (or `stream`), once; its level drops to
    INFO if it was higher, so the app's info lines are seen."""
    for handler in logger.handlers:
        if handler.get_name() == _HANDLER_NAME:
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler


def _json_worker_logs(log_format: str) -> None:
    """Celery sets up its own loggers when a worker starts: give them the JSON formatter then."""
    if log_format != "json":
        return
    from celery.signals import after_setup_logger, after_setup_task_logger

    def reformat(logger=None, **_):
        if logger is None:
            return
        theirs = [h for h in logger.handlers if h.get_name() != _HANDLER_NAME]
        for handler in logger.handlers[:]:
            if handler.get_name() == _HANDLER_NAME and theirs:  # Celery's handler writes: no double lines
                logger.removeHandler(handler)
        for handler in theirs:
            handler.setFormatter(JsonFormatter())

    after_setup_logger.connect(reformat, weak=False)
    after_setup_task_logger.connect(reformat, weak=False)
