"""The console's browser-facing defences: CSRF on every form, cookie flags, CSP and friends."""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()

# No inline script or style anywhere: everything the page runs comes from /static.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def init_app(app: Flask, config) -> None:
    console = config.console
    if console.trusted_proxy_hops:
        # Only behind a proxy we were told about: otherwise anyone could claim any address
        # and dodge the per-IP sign-in limits.
        hops = console.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    https = config.public_url.startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="vigil_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=console.session_max_hours),
        REMEMBER_COOKIE_SECURE=https,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the console's own guard; webhooks and the API use keys
        WTF_CSRF_TIME_LIMIT=None,      # the token lives as long as the session, which has its own limits
        WTF_CSRF_SSL_STRICT=https,
    )
    csrf.init_app(app)

    @app.after_request
    def headers(response):
        if request.blueprint == "console" or request.endpoint == "static":
            response.headers.setdefault("Content-Security-Policy", CSP)
            # Same-origin forms must carry a Referer: over HTTPS the CSRF check requires it.
            response.headers["Referrer-Policy"] = "same-origin"
            if response.mimetype == "text/html":
                response.headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
