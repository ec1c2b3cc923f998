"""Gunicorn's access log without secrets in paths: `gunicorn --logger-class
incidents.web.access_log.AccessLog` (vigil up does this).

With LOG_FORMAT=json its access and error logs are JSON lines too (incidents.web.request_log): an
access line carries method, path, status, duration_ms, remote_addr and the request's id (from the
X-Request-Id the app answered with). LOG_FORMAT is read from the environment, as gunicorn's logger
is made before the app."""
from __future__ import annotations

import os
import re
import traceback

from gunicorn.glogging import Logger

from incidents.web.request_log import HEADER, JsonFormatter

# Heartbeat keys travel in the path too (POST /api/v1/heartbeats/{key}): they are credentials.
ONE_TIME_LINK = re.compile(r"^(/(?:invite|reset|api/v1/heartbeats)/)[^/?]+")


def _json_wanted() -> bool:
    return (os.environ.get("LOG_FORMAT") or "").strip().lower() == "json"


class AccessLog(Logger):
    """The token of one-time links (invitations, password resets) is cut from logged paths:
    whoever reads the log must not be able to use a link that is not spent yet."""

    def setup(self, cfg):
        super().setup(cfg)
        if _json_wanted():
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = ONE_TIME_LINK.sub(r"\1…", atoms.get("U", ""))
        return atoms

    def access(self, resp, req, environ, request_time):
        if not _json_wanted():
            return super().access(resp, req, environ, request_time)
        if not getattr(self, "access_log_enabled", self.cfg.accesslog is not None):
            return
        try:
            fields = access_fields(self.atoms(resp, req, environ, request_time), resp, request_time)
            self.access_log.info("%s %s %s", fields["method"], fields["path"], fields["status"],
                                 extra={"fields": fields, "request_id": fields.pop("request_id")})
        except Exception:
            self.error(traceback.format_exc())


def access_fields(atoms: dict, resp, request_time) -> dict:
    """The access line's fields from gunicorn's atoms: the path without its query string (an
    intake key may be passed as ?key=) and with one-time tokens already cut."""
    headers = {name.lower(): value for name, value in (getattr(resp, "headers", None) or [])}
    status = str(atoms.get("s", "-"))
    return {
        "method": atoms.get("m", "-"),
        "path": atoms.get("U", "-"),
        "status": int(status) if status.isdigit() else status,
        "duration_ms": round(request_time.total_seconds() * 1000, 1),
        "remote_addr": atoms.get("h", "-"),
        "request_id": headers.get(HEADER.lower()),
    }
