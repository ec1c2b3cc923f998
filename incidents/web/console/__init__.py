"""The web console: server-rendered pages for ops engineers (htmx for live updates, no build step).

Views live in `signin.py` (signing in and one-time links) and in `pages/`, one module per page;
every module in `pages/` is imported when the console starts, so a new page is a new file.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import Flask, request

from incidents.web.console import guard, security

bp = APIBlueprint("console", __name__, enable_openapi=False)  # pages, not API operations


@bp.before_request
def _before():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        security.csrf.protect()  # every form, every state change: refused without the session's token
    return guard.guard()


def init_app(app: Flask, config) -> None:
    import importlib
    import pkgutil

    from incidents.web.console import pages, signin, templating  # noqa: F401  (views register on bp)

    for module in pkgutil.iter_modules(pages.__path__):
        importlib.import_module(f"{pages.__name__}.{module.name}")
    security.init_app(app, config)
    guard.login_manager.init_app(app)
    templating.init_app(app)
    app.register_blueprint(bp)
