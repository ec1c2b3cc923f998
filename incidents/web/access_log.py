"""Gunicorn's access log without secrets in paths: `gunicorn --logger-class
incidents.web.access_log.AccessLog` (vigil up does this)."""
from __future__ import annotations

import re

from gunicorn.glogging import Logger

# Heartbeat keys travel in the path too (POST /api/v1/heartbeats/{key}): they are credentials.
ONE_TIME_LINK = re.compile(r"^(/(?:invite|reset|api/v1/heartbeats)/)[^/?]+")


class AccessLog(Logger):
    """The token of one-time links (invitations, password resets) is cut from logged paths:
    whoever reads the log must not be able to use a link that is not spent yet."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = ONE_TIME_LINK.sub(r"\1…", atoms.get("U", ""))
        return atoms
