"""Customers and their SLA: response deadlines per class, uptime target, contacts and services;
admins tailor the response times and the uptime target."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from incidents import clock
from incidents.domain.permissions import Permission
from incidents.services import customers, monthly_reports
from incidents.services.errors import Invalid
from incidents.web.console import bp
from incidents.web.console.guard import actor, requires, where
from incidents.web.console.pages.customers_forms import terms_form
from incidents.web.session import db_session

CUSTOMER = "/customers/<string(maxlength=64):slug>"


@bp.get("/customers", endpoint="customers")
@requires(Permission.VIEW)
def customers_page():
    session = db_session()
    rows = customers.list_customers(session)
    defaults = customers.default_sla(session)
    return render_template("console/customers.html", customers=rows,
                           times={c.id: customers.response_times(c, defaults) for c in rows})


@bp.get(CUSTOMER, endpoint="customer")
@requires(Permission.VIEW)
def customer_page(slug: str):
    return _render_customer(slug)


@bp.post(CUSTOMER, endpoint="edit_customer")
@requires(Permission.ADMIN)
def edit_customer(slug: str):
    session = db_session()
    customers.get_by_slug(session, slug)  # 404 before the form is looked at
    form = terms_form()
    if not form.validate_on_submit():
        return _render_customer(slug, form=form, status=422)
    try:
        customer, changed = customers.update_terms(
            session, slug=slug, minutes=form.minutes(), uptime_target=form.uptime_target.data,
            actor=actor(), where=where(), now=clock.now())
    except Invalid as error:
        session.rollback()
        return _render_customer(slug, form=form, error=error.message, status=422)
    session.commit()
    flash(f"Saved {customer.name}'s terms: incidents opened from now on get the new response times."
          if changed else "Nothing changed.", "success" if changed else "info")
    return redirect(url_for("console.customer", slug=customer.slug), code=303)


def _render_customer(slug: str, *, form=None, error: str | None = None, status: int = 200):
    session = db_session()
    customer = customers.get_by_slug(session, slug)
    if form is None and current_user.can(Permission.ADMIN):
        form = terms_form(customer)
    page = render_template("console/customers_detail.html", customer=customer, form=form, error=error,
                           times=customers.response_times(customer, customers.default_sla(session)),
                           bounds=(customers.MIN_MINUTES, customers.MAX_MINUTES),
                           deliveries=monthly_reports.history(session, customer.id))
    return page, status
