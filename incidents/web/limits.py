"""Rate limits (Flask-Limiter): per integration key on intake, per API key on /api/v1, and per
account and per address on the console's sign-in; a 429 says when to retry (Retry-After).

Each counter has its own bucket, so one integration that floods cannot use up another's. Counters
live in Redis when Redis is configured (shared by every web process), in memory otherwise (each
process counts for itself). Health checks, /metrics and the Twilio and Slack hooks are not limited:
load balancers and monitors poll them, and the hooks carry people's replies to pages.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

from apiflask import APIFlask
from flask import current_app, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

import config as settings
from incidents.services.keys import hash_key
from incidents.web import errors

log = logging.getLogger(__name__)
EXTENSION = "vigil.limiter"
_MARK = "_vigil_rate_limit"
API_PREFIX = "/api/v1/"
INTAKE, API, SIGN_IN = "intake", "api", "sign-in"
DOC_429 = "too many requests for this key; retry after the seconds in the Retry-After header"


@dataclass(frozen=True)
class _Mark:
    kind: str
    key: Callable[[], str | None] | None = None  # the integration key a request presents


def per_integration_key(key: Callable[[], str | None]):
    """Decorator for an intake view: limit it per integration key (`key()` finds the key in the
    request; a request without one is counted against its address)."""
    def mark(view):
        setattr(view, _MARK, _Mark(INTAKE, key))
        return view
    return mark


def sign_in(view):
    """Decorator for the sign-in view: limit failed attempts per account and per address."""
    setattr(view, _MARK, _Mark(SIGN_IN))
    return view


def routing_key_in_body() -> str | None:
    """The key of a PagerDuty-style event, which travels in the body (Flask keeps the parse)."""
    try:
        body = request.get_json(silent=True)
    except HTTPException:  # too large: the view answers 413 (a key function must never raise)
        return None
    key = body.get("routing_key") if isinstance(body, dict) else None
    return key if isinstance(key, str) else None


def storage_url(config: settings.Config) -> str:
    """RATELIMIT_STORAGE_URL, else the broker's Redis, else memory (the embedded default)."""
    if config.rate_limits.storage_url:
        return config.rate_limits.storage_url
    if config.broker_url.startswith(("redis://", "rediss://")):
        return config.broker_url
    return "memory://"


def init_app(app: APIFlask, config: settings.Config) -> Limiter:
    rates = config.rate_limits
    url = storage_url(config)
    limiter = Limiter(
        key_func=_address,
        application_limits=[
            ApplicationLimit(rates.intake, key_function=_integration_key, scope=INTAKE,
                             exempt_when=lambda: _kind() != INTAKE),
            ApplicationLimit(rates.api, key_function=_api_key, scope=API, exempt_when=lambda: _kind() != API),
            # Failed sign-ins only: a team behind one address is never slowed by signing in.
            ApplicationLimit(rates.login_account, key_function=_account, scope="sign-in-account",
                             methods=["POST"], exempt_when=lambda: _kind() != SIGN_IN, deduct_when=_failed),
            ApplicationLimit(rates.login_ip, key_function=_address, scope="sign-in-address",
                             methods=["POST"], exempt_when=lambda: _kind() != SIGN_IN, deduct_when=_failed),
        ],
        storage_uri=url,
        storage_options=_storage_options(url),
        key_prefix=rates.key_prefix,
        # Limits must never take intake down: if Redis is unreachable each process counts in
        # memory until it is back (and an error in the limiter lets the request through).
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many)
    _document(app)
    return limiter


def _storage_options(url: str) -> dict:
    # A Redis that does not answer must not hold a request for long before the fallback.
    return {"socket_connect_timeout": 1, "socket_timeout": 1} if url.startswith("redis") else {}


def _kind() -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    mark = getattr(view, _MARK, None)
    if mark is not None:
        return mark.kind
    return API if request.path.startswith(API_PREFIX) else None


def _address() -> str:
    return request.remote_addr or "unknown"


def _integration_key() -> str:
    mark = getattr(current_app.view_functions.get(request.endpoint or ""), _MARK)
    key = mark.key()
    return f"key:{hash_key(key)}" if key else f"ip:{_address()}"


def _api_key() -> str:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    return f"key:{hash_key(token)}" if token else f"ip:{_address()}"


def _account() -> str:
    from incidents.services.accounts.login import normal_email

    try:
        email = request.form.get("email", "")
    except HTTPException:  # too large: the view answers 413 (a key function must never raise)
        email = ""
    return hash_key(normal_email(email))


def _failed(response) -> bool:
    return response.status_code >= 400  # a sign-in that works redirects


_MESSAGES = {
    INTAKE: "too many requests for this integration key (at most {limit})",
    API: "too many requests for this API key (at most {limit})",
    "sign-in-account": "Too many failed sign-ins for this account. Try again in {wait} seconds.",
    "sign-in-address": "Too many failed sign-ins from your address. Try again in {wait} seconds.",
}


def _too_many(error: RateLimitExceeded):
    wait = _retry_after(error)
    message = _MESSAGES.get(error.limit.scope, "too many requests ({limit})")
    return errors.answer(429, message.format(limit=error.limit.limit, wait=wait), {"Retry-After": str(wait)})


def _retry_after(error: RateLimitExceeded) -> int:
    """Seconds until the breached window ends (its whole length if the store cannot say)."""
    current = current_app.extensions[EXTENSION].current_limit
    try:
        return max(1, math.ceil(current.window[0] - time.time()))  # window: (reset time, remaining)
    except Exception as exc:  # the store went away between the check and now
        log.warning("rate limit window unknown: %s", exc.__class__.__name__)
        return error.limit.limit.get_expiry()


def _document(app: APIFlask) -> None:
    """Add the 429 to the OpenAPI responses of every limited operation."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        spec = getattr(view, "_spec", None)
        mark = getattr(view, _MARK, None)
        if spec is None or not (rule.rule.startswith(API_PREFIX) or (mark and mark.kind == INTAKE)):
            continue
        responses = spec.get("responses")
        if isinstance(responses, dict):
            responses.setdefault(429, DOC_429)
        elif isinstance(responses, list) and 429 not in responses:
            responses.append(429)
        elif responses is None and spec.get("response"):  # only with an output, which keeps its 200
            spec["responses"] = {429: DOC_429}
