"""API keys: list, create (the key is shown once, on the response page only), revoke."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from wtforms.fields.choices import SelectChoice

from incidents.domain.permissions import Permission
from incidents.services import api_keys, customers
from incidents.services.errors import ServiceError
from incidents.web.console import bp
from incidents.web.console.guard import actor, requires, where
from incidents.web.console.pages.api_keys_forms import ApiKeyForm
from incidents.web.console.pages.users_forms import first_error
from incidents.web.session import db_session

KEY_ID = "<int(min=1, max=2147483647):key_id>"


@bp.get("/api-keys", endpoint="api_keys")
@requires(Permission.ADMIN)
def api_keys_page():
    return _list(_form())


def _form() -> ApiKeyForm:
    form = ApiKeyForm()
    form.customer.choices = [SelectChoice("", "Ops: every customer")] + [
        SelectChoice(c.slug, f"Customer: {c.name}") for c in customers.list_customers(db_session())]
    return form


def _list(form: ApiKeyForm, *, error: str | None = None, status: int = 200):
    keys = sorted(api_keys.list_keys(db_session()), key=lambda k: (k.revoked_at is not None, -k.id))
    return render_template("console/api_keys.html", keys=keys, form=form, error=error), status


@bp.post("/api-keys", endpoint="api_keys_create")
@requires(Permission.ADMIN)
def create():
    form = _form()
    if not form.validate():
        return _list(form, error=first_error(form), status=400)
    s = db_session()
    try:
        row, key = api_keys.create(s, name=form.name.data, scope=form.scope.data,
                                   customer=form.customer.data or None, actor=actor(), where=where())
    except ServiceError as exc:
        s.rollback()
        return _list(form, error=exc.message, status=exc.status)
    s.commit()
    # The key is in this response body only (no-store): never in a flash, a URL or a log line.
    return render_template("console/api_keys_created.html", row=row, key=key)


@bp.post(f"/api-keys/{KEY_ID}/revoke", endpoint="api_keys_revoke")
@requires(Permission.ADMIN)
def revoke(key_id: int):
    s = db_session()
    row = api_keys.get(s, key_id)  # NotFound: the console's 404 page
    if row.revoked_at is not None:
        flash(f"API key {row.name!r} was already revoked.", "info")
        return redirect(url_for("console.api_keys")), 303
    api_keys.revoke(s, key_id=key_id, actor=actor(), where=where())
    s.commit()
    flash(f"API key {row.name!r} is revoked; requests with it are refused from now on.", "success")
    return redirect(url_for("console.api_keys")), 303
